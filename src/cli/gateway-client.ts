// What the `plugins` and `handlers` subcommands use to reach a running
// gateway: `--url` (default http://127.0.0.1:8080, or HOOKWORK_URL) and a
// bearer token from `--token` or HOOKWORK_TOKEN. The token goes in the
// Authorization header only: it is never printed, logged or put in an error
// message (a gateway that echoed it back would not be quoted either).

import { UsageError } from './exit-codes.js';

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

export interface GatewayTarget {
  url?: string;
  token?: string;
}

/** The gateway answered with an error (`{code, message}`). */
export class GatewayReplyError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(`the gateway answered ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

export interface GatewayClient {
  call(method: 'GET' | 'POST', path: string): Promise<unknown>;
}

function baseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url "${raw}" is not a URL; give the gateway's base URL, e.g. ${DEFAULT_GATEWAY_URL}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url "${raw}" must be an http:// or https:// URL.`);
  return url;
}

export function gatewayClient(target: GatewayTarget, env: NodeJS.ProcessEnv = process.env): GatewayClient {
  const base = baseUrl(target.url ?? env['HOOKWORK_URL'] ?? DEFAULT_GATEWAY_URL);
  const token = target.token ?? env['HOOKWORK_TOKEN'];
  const hide = (text: string): string => (token === undefined || token === '' ? text : text.split(token).join('***'));
  return {
    async call(method, path) {
      const url = new URL(path, base);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token !== undefined && token !== '') headers['authorization'] = `Bearer ${token}`;
      let response: Response;
      try {
        response = await fetch(url, { method, headers });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new Error(`cannot reach the gateway at ${base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}. Is "hookwork serve" running there? (--url or HOOKWORK_URL)`);
      }
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`the gateway at ${base.origin} answered ${response.status} with a body that is not JSON: ${hide(text.slice(0, 200))}`);
      }
      if (!response.ok) {
        const { code, message } = (body ?? {}) as { code?: unknown; message?: unknown };
        let said = hide(typeof message === 'string' ? message : JSON.stringify(body));
        if (response.status === 401 && headers['authorization'] === undefined) said += ' Give a token with --token or HOOKWORK_TOKEN.';
        throw new GatewayReplyError(response.status, typeof code === 'string' ? code : 'unknown', said);
      }
      return body;
    },
  };
}
