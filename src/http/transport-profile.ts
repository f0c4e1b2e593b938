// How a webhook target's sockets are made, beyond the address the SSRF guard
// checked: a client certificate and key (mTLS), the CAs it trusts, an
// outbound HTTP proxy. Pools are keyed by the profile too, so two targets
// with different certificates never share a socket. The PEM texts cross to
// the sender thread once per lane; they are never logged.

import { createHash } from 'node:crypto';

export interface TransportProfileOptions {
  /** PEM client certificate (chain). */
  readonly cert?: string;
  /** PEM private key of `cert`. */
  readonly key?: string;
  /** PEM CA certificates trusted instead of Node's defaults. */
  readonly ca?: string;
  /** `http://[user:pass@]host:port` of a proxy the requests go through (CONNECT). */
  readonly proxy?: string;
}

export interface TransportProfile extends TransportProfileOptions {
  /** A digest of the contents: the pool key (never the secrets themselves). */
  readonly id: string;
}

/** The profile, or undefined when nothing differs from a plain pinned connection. */
export function transportProfile(options: TransportProfileOptions): TransportProfile | undefined {
  const { cert, key, ca, proxy } = options;
  if (cert === undefined && key === undefined && ca === undefined && proxy === undefined) return undefined;
  const id = createHash('sha256')
    .update(JSON.stringify([cert ?? null, key ?? null, ca ?? null, proxy ?? null]))
    .digest('base64url')
    .slice(0, 22);
  return {
    id,
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(ca === undefined ? {} : { ca }),
    ...(proxy === undefined ? {} : { proxy }),
  };
}

/** The TLS options of a profile, as undici's connector takes them. */
export function tlsOptions(profile: TransportProfile | undefined): { cert?: string; key?: string; ca?: string } {
  if (profile === undefined) return {};
  return {
    ...(profile.cert === undefined ? {} : { cert: profile.cert }),
    ...(profile.key === undefined ? {} : { key: profile.key }),
    ...(profile.ca === undefined ? {} : { ca: profile.ca }),
  };
}
