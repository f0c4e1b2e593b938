// Talks to the gateway's JSON API with the session cookie. The CSRF token is
// kept in this module's memory only (never in storage): a reload asks
// GET /v1/session for it again. Every non-GET request carries it.

export type Role = 'viewer' | 'operator' | 'superuser';

export interface Session {
  readonly principal: { readonly name: string; readonly role: Role };
  readonly csrf_token: string;
  readonly expires_at: string;
}

/** An error reply from the gateway, with its HKW_ERR_* code when it gave one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

let csrf: string | undefined;
let onSignedOut: (() => void) | undefined;

/** Called when a request answers 401: the session ended (expired, signed out elsewhere, token rotated). */
export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

export function setCsrf(token: string | undefined): void {
  csrf = token;
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const obj = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const inner = (typeof obj['error'] === 'object' && obj['error'] !== null ? obj['error'] : obj) as Record<string, unknown>;
  const code = typeof inner['code'] === 'string' ? inner['code'] : undefined;
  const message = typeof inner['message'] === 'string' ? inner['message'] : `${res.status} ${res.statusText}`;
  return new ApiError(res.status, code, message, body);
}

export async function request<T>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf !== undefined) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && opts.quiet401 !== true) onSignedOut?.();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => request<T>('POST', path, body);

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
