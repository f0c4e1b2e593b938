// The SSRF guard: a webhook may only reach public addresses unless the config
// allows a CIDR. The check runs on every address the host name resolves to,
// and the connection is then pinned to the checked address (see pinnedLookup),
// so a second DNS answer (rebinding) can never reach an unchecked address.
// Checked answers are kept for a few seconds (IP literals for good): a
// webhook burst costs one lookup, not one per request, and the connection
// still goes only to the address that was checked.

import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { InvalidArgumentError, SsrfRefusedError } from '../errors.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Why an address range is refused, in words that go into the error. */
const REFUSED_RANGES: Readonly<Record<string, string>> = {
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local (fc00::/7) address',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  deprecatedSiteLocal: 'a site-local address',
  // IPv6 special-purpose blocks that IANA marks not globally reachable.
  discard: 'a discard-only (100::/64) address',
  benchmarking: 'a benchmarking (2001:2::/48) address',
  deprecatedOrchid: 'an ORCHID (2001:10::/28) identifier, not a routable address',
  segmentRouting: 'a segment-routing (5f00::/16) address',
};

/** Cloud metadata endpoints, refused by address and by name. */
const METADATA_ADDRESSES: ReadonlySet<string> = new Set([
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean
  '169.254.170.2', // AWS ECS task metadata
  'fd00:ec2::254', // AWS over IPv6
  '100.100.100.200', // Alibaba Cloud
  '168.63.129.16', // Azure wire server (a public address)
]);
const METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
]);

export interface CheckedTarget {
  /** The URL's host name (without IPv6 brackets). */
  readonly hostname: string;
  /** The address the connection must go to. */
  readonly address: string;
  readonly family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

const defaultResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface SsrfGuardOptions {
  /** CIDRs that are allowed whatever their range (`127.0.0.1/32`, `10.1.0.0/16`, `::1/128`). */
  allow?: readonly string[];
  /** For tests: resolves names without DNS. */
  resolver?: Resolver;
  /**
   * How long a host name's checked answer is reused, ms (default 5 000; 0
   * resolves and checks on every request). dns.lookup reports no TTL, so this
   * stays short; refusals and failed lookups are never kept.
   */
  cacheTtlMs?: number;
  /** For tests: the clock the cache expires by. */
  now?: () => number;
}

interface CachedAnswer {
  readonly target: CheckedTarget;
  readonly expiresAt: number;
}

/** Host names (and IP literals) remembered at most; the map is cleared beyond. */
const CACHE_LIMIT = 1024;

/** Parses a CIDR (or a bare address, as /32 or /128); throws InvalidArgumentError when malformed. */
export function parseCidr(cidr: string): [Address, number] {
  try {
    if (cidr.includes('/')) return ipaddr.parseCIDR(cidr);
    const address = ipaddr.parse(cidr);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    throw new InvalidArgumentError(`"${cidr}" is not a valid CIDR (expected e.g. 10.0.0.0/8 or fd00::/8).`);
  }
}

function normalise(address: Address): Address {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address();
  }
  return address;
}

const NAT64_LOCAL_USE = ipaddr.parseCIDR('64:ff9b:1::/48') as [ipaddr.IPv6, number];

/** IPv6 ranges that tunnel to no checkable IPv4 address: refused unless allowed. */
const OPAQUE_TUNNELS: Readonly<Record<string, string>> = {
  teredo: 'a Teredo (2001::/32) address, which tunnels to an IPv4 address the guard cannot check',
  nat64Local: 'a local-use NAT64 (64:ff9b:1::/48) address, which translates to an IPv4 address the guard cannot check',
};

/**
 * An IPv6 form that carries an IPv4 address the packets end up at: NAT64
 * (64:ff9b::/96, RFC 6052) and IPv4-translated (::ffff:0:0/96, RFC 6145) in
 * the low 32 bits, 6to4 (2002::/16, RFC 3056) in bits 16-47, and the
 * deprecated IPv4-compatible form (::a.b.c.d). Undefined for any other address.
 */
function embeddedIPv4(address: ipaddr.IPv6, range: string): { ipv4: ipaddr.IPv4; form: string } | undefined {
  const p = address.parts;
  const low = (hi: number, lo: number): ipaddr.IPv4 => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  switch (range) {
    case 'rfc6052':
      return address.match(NAT64_LOCAL_USE) ? undefined : { ipv4: low(p[6] ?? 0, p[7] ?? 0), form: 'NAT64 (64:ff9b::/96)' };
    case 'rfc6145':
      return { ipv4: low(p[6] ?? 0, p[7] ?? 0), form: 'IPv4-translated (::ffff:0:0/96)' };
    case '6to4':
      return { ipv4: low(p[1] ?? 0, p[2] ?? 0), form: '6to4 (2002::/16)' };
    default:
      // ::/96 other than :: and ::1 (their own ranges).
      if (range !== 'unspecified' && range !== 'loopback' && p.slice(0, 6).every((part) => part === 0)) {
        return { ipv4: low(p[6] ?? 0, p[7] ?? 0), form: 'IPv4-compatible (::/96)' };
      }
      return undefined;
  }
}

export class SsrfGuard {
  readonly #allow: ReadonlyArray<[Address, number]>;
  readonly #resolver: Resolver;
  readonly #ttl: number;
  readonly #now: () => number;
  /** Checked answers by lower-case host name; IP literals never expire. */
  readonly #answers = new Map<string, CachedAnswer>();
  /** Lookups under way, so a burst to one name shares one. */
  readonly #pending = new Map<string, Promise<readonly LookupAddress[]>>();

  constructor(options: SsrfGuardOptions = {}) {
    this.#allow = (options.allow ?? []).map(parseCidr);
    this.#resolver = options.resolver ?? defaultResolver;
    this.#ttl = options.cacheTtlMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** The rule an address breaks, or undefined when it may be reached. */
  ruleFor(addressText: string): string | undefined {
    let address: Address;
    try {
      address = normalise(ipaddr.parse(addressText));
    } catch {
      return 'not an IP address';
    }
    if (this.#allowed(address)) return undefined;
    const canonical = address.toNormalizedString();
    if (METADATA_ADDRESSES.has(canonical) || METADATA_ADDRESSES.has(address.toString())) {
      return 'a cloud metadata endpoint';
    }
    const range = address.range();
    if (address.kind() === 'ipv6') {
      const v6 = address as ipaddr.IPv6;
      if (range === 'teredo') return OPAQUE_TUNNELS['teredo'];
      if (range === 'rfc6052' && v6.match(NAT64_LOCAL_USE)) return OPAQUE_TUNNELS['nat64Local'];
      // A transition form is checked as the IPv4 address it leads to (and
      // that address's allow-list entries apply, as for IPv4-mapped).
      const embedded = embeddedIPv4(v6, range);
      if (embedded !== undefined) {
        if (this.#allowed(embedded.ipv4)) return undefined;
        const rule = this.#ipv4Rule(embedded.ipv4);
        return rule === undefined ? undefined : `${rule} (${embedded.ipv4.toString()}, embedded in a ${embedded.form} address)`;
      }
    }
    return REFUSED_RANGES[range];
  }

  #allowed(address: Address): boolean {
    for (const [range, bits] of this.#allow) {
      if (range.kind() === address.kind() && address.match(range, bits)) return true;
    }
    return false;
  }

  #ipv4Rule(address: ipaddr.IPv4): string | undefined {
    if (METADATA_ADDRESSES.has(address.toString())) return 'a cloud metadata endpoint';
    return REFUSED_RANGES[address.range()];
  }

  /**
   * The checked address for the URL when it is already known (a checked IP
   * literal, or a name checked less than the cache TTL ago), without any
   * await; undefined when check() must run.
   */
  cached(url: URL): CheckedTarget | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return this.cachedHost(url.hostname);
  }

  /** cached() by the URL's `hostname` (IPv6 in brackets), for callers that know the scheme is http(s). */
  cachedHost(hostname: string): CheckedTarget | undefined {
    const answer = this.#answers.get(hostname);
    if (answer === undefined) return undefined;
    if (answer.expiresAt !== Number.POSITIVE_INFINITY && answer.expiresAt < this.#now()) {
      this.#answers.delete(hostname);
      return undefined;
    }
    return answer.target;
  }

  /**
   * Resolves the URL's host and checks every address it resolves to; returns
   * the address to connect to. Throws SsrfRefusedError naming the address and
   * the rule; nothing is sent anywhere before this returns.
   */
  async check(url: URL): Promise<CheckedTarget> {
    const known = this.cached(url);
    if (known !== undefined) return known;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SsrfRefusedError(url.href, url.protocol, `a scheme other than http: or https:`);
    }
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const lowerName = hostname.toLowerCase().replace(/\.$/, '');
    if (METADATA_NAMES.has(lowerName)) throw new SsrfRefusedError(url.href, hostname, 'a cloud metadata host name');
    if (ipaddr.isValid(hostname)) {
      const target = this.#checkAddresses(url, hostname, [{ address: hostname, family: hostname.includes(':') ? 6 : 4 }]);
      this.#remember(url.hostname, target, Number.POSITIVE_INFINITY);
      return target;
    }
    const key = url.hostname;
    let lookup = this.#pending.get(key);
    if (lookup === undefined) {
      // A failed lookup rejects with the resolver's own error (retryable for the queue).
      lookup = this.#resolver(hostname).finally(() => this.#pending.delete(key));
      this.#pending.set(key, lookup);
    }
    const target = this.#checkAddresses(url, hostname, await lookup);
    if (this.#ttl > 0) this.#remember(key, target, this.#now() + this.#ttl);
    return target;
  }

  #checkAddresses(url: URL, hostname: string, addresses: readonly LookupAddress[]): CheckedTarget {
    if (addresses.length === 0) throw new SsrfRefusedError(url.href, hostname, 'a name with no addresses');
    // Every answer must pass: a name that mixes public and private answers is refused.
    for (const entry of addresses) {
      const rule = this.ruleFor(entry.address);
      if (rule !== undefined) throw new SsrfRefusedError(url.href, entry.address, rule);
    }
    const first = addresses[0] as LookupAddress;
    return { hostname, address: first.address, family: first.family === 6 ? 6 : 4 };
  }

  #remember(key: string, target: CheckedTarget, expiresAt: number): void {
    if (this.#answers.size >= CACHE_LIMIT) this.#answers.clear();
    this.#answers.set(key, { target, expiresAt });
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls connect options that always answers with the checked
 * address: the socket goes there, while the Host header and TLS SNI keep the name.
 */
export function pinnedLookup(target: CheckedTarget) {
  return (_hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    const all = typeof options === 'object' && options !== null && options.all === true;
    if (all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}
