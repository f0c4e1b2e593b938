// Webhook bodies: json (default: the event itself), text, xml or form, from an
// optional payload template rendered over the event context.

import { compileTemplate, stringify, type Template } from '../events/template.js';
import type { LookupOptions } from '../events/context.js';
import { recordJson } from '../events/record-json.js';

export const BODY_FORMATS = ['json', 'text', 'xml', 'form'] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];

const CONTENT_TYPES: Readonly<Record<BodyFormat, string>> = {
  json: 'application/json',
  text: 'text/plain; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  form: 'application/x-www-form-urlencoded',
};

export interface RenderedBody {
  readonly body: string;
  readonly contentType: string;
}

/** A body compiled once per target and rendered per delivery. */
export class BodyRenderer {
  readonly format: BodyFormat;
  readonly contentType: string;
  readonly #template: Template | undefined;

  constructor(format: BodyFormat = 'json', payload?: unknown) {
    this.format = format;
    this.contentType = CONTENT_TYPES[format];
    this.#template = payload === undefined ? undefined : compileTemplate(payload);
  }

  get placeholders(): readonly string[] {
    return this.#template?.placeholders ?? [];
  }

  /** True when the body is the event record's JSON, unchanged (json without a payload template). */
  get isEventItself(): boolean {
    return this.#template === undefined && this.format === 'json';
  }

  /** The body text alone (render() without the wrapper object); the default json body is cached per record. */
  text(roots: readonly unknown[], options?: LookupOptions): string {
    const event = roots[roots.length - 1];
    if (this.#template === undefined && this.format === 'json' && typeof event === 'object' && event !== null) {
      return recordJson(event);
    }
    const value = this.#template === undefined ? defaultValue(this.format, event) : this.#template.render(roots, options);
    return serialise(this.format, value);
  }

  /** `roots[roots.length - 1]` is the event record; earlier roots are extras (callback_url, output). */
  render(roots: readonly unknown[], options?: LookupOptions): RenderedBody {
    return { body: this.text(roots, options), contentType: this.contentType };
  }
}

function defaultValue(format: BodyFormat, event: unknown): unknown {
  if (format === 'text') return (event as { message?: unknown } | undefined)?.message ?? '';
  return event;
}

function serialise(format: BodyFormat, value: unknown): string {
  switch (format) {
    case 'json':
      return JSON.stringify(value ?? null);
    case 'text':
      return stringify(value);
    case 'xml':
      return typeof value === 'string' ? value : `<?xml version="1.0" encoding="UTF-8"?>\n${toXml('event', value)}`;
    case 'form':
      return typeof value === 'string' ? value : toForm(value);
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

/** Element names must be XML names; anything else becomes `_`. */
function xmlName(key: string): string {
  const cleaned = key.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/** Objects become nested elements, arrays repeat `<item>`. */
export function toXml(name: string, value: unknown): string {
  const tag = xmlName(name);
  if (value === null || value === undefined) return `<${tag}/>`;
  if (Array.isArray(value)) return `<${tag}>${value.map((item) => toXml('item', item)).join('')}</${tag}>`;
  if (typeof value === 'object') {
    const inner = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => toXml(k, v))
      .join('');
    return `<${tag}>${inner}</${tag}>`;
  }
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

/** Top-level members as fields; nested values as JSON. */
function toForm(value: unknown): string {
  const params = new URLSearchParams();
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, member] of Object.entries(value as Record<string, unknown>)) params.append(key, stringify(member));
  } else {
    params.append('value', stringify(value));
  }
  return params.toString();
}
