import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { after, test } from 'node:test';
import { SsrfRefusedError } from '../../src/errors.js';
import { HttpPools } from '../../src/http/pools.js';
import { SsrfGuard, parseCidr } from '../../src/http/ssrf-guard.js';
import { WebhookTarget } from '../../src/webhooks/sender.js';
import { attemptContext, useReceiver } from '../helpers/receiver.js';

const receiver = useReceiver();
const pools = new HttpPools();
after(async () => {
  await pools.close();
});

async function refusal(guard: SsrfGuard, url: string): Promise<SsrfRefusedError> {
  try {
    await guard.check(new URL(url));
  } catch (err) {
    assert.ok(err instanceof SsrfRefusedError, `expected SsrfRefusedError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${url} was not refused`);
}

test('refuses loopback, private, link-local, metadata, CGNAT, unique-local and unspecified addresses by default', async () => {
  const guard = new SsrfGuard();
  const cases: Array<[string, string, RegExp]> = [
    ['http://127.0.0.1/x', '127.0.0.1', /loopback/],
    ['http://[::1]/x', '::1', /loopback/],
    ['http://10.1.2.3/x', '10.1.2.3', /private/],
    ['http://192.168.0.10/x', '192.168.0.10', /private/],
    ['http://172.20.0.1/x', '172.20.0.1', /private/],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', /metadata/],
    ['http://169.254.10.10/', '169.254.10.10', /link-local/],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254', /metadata/],
    ['http://[fc00::1]/', 'fc00::1', /unique-local/],
    ['http://[fe80::1]/', 'fe80::1', /link-local/],
    ['http://100.64.1.1/', '100.64.1.1', /carrier-grade NAT/],
    ['http://0.0.0.0/', '0.0.0.0', /unspecified/],
    ['http://224.0.0.1/', '224.0.0.1', /multicast/],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', /loopback/],
  ];
  for (const [url, address, rule] of cases) {
    const err = await refusal(guard, url);
    assert.equal(err.code, 'HKW_ERR_SSRF_REFUSED');
    assert.match(err.rule, rule, url);
    assert.ok(err.message.includes(err.address), 'the message names the address');
    assert.ok(err.message.includes('ssrf.allow'), 'the message says how to allow it');
    assert.ok(address.length > 0);
  }
});

test('refuses the IPv6 special-purpose blocks that are not globally reachable; documentation ranges are reserved', async () => {
  const guard = new SsrfGuard();
  const cases: Array<[string, RegExp]> = [
    ['100::1', /discard-only/],
    ['2001:2::7', /benchmarking/],
    ['2001:10::1', /ORCHID/],
    ['5f00::1', /segment-routing/],
    ['2001:db8::1', /reserved/],
    ['3fff::1', /reserved/],
    ['fec0::1', /site-local/],
  ];
  for (const [address, why] of cases) {
    assert.match(guard.ruleFor(address) ?? 'allowed', why, address);
    assert.match((await refusal(guard, `http://[${address}]/x`)).message, why);
  }
  // Globally reachable neighbours stay allowed.
  for (const address of ['2001:4860:4860::8888', '2001:20::1', '2606:4700::1111']) assert.equal(guard.ruleFor(address), undefined, address);
  // The allow list still opens them.
  assert.equal(new SsrfGuard({ allow: ['2001:2::/48'] }).ruleFor('2001:2::7'), undefined);
});

test('refuses a name that resolves to 127.0.0.1 (localhost) and cloud metadata host names', async () => {
  const guard = new SsrfGuard();
  const local = await refusal(guard, 'http://localhost:9/');
  assert.match(local.address, /^(127\.0\.0\.1|::1)$/);
  assert.match(local.rule, /loopback/);
  const named = await refusal(new SsrfGuard({ resolver: async () => [{ address: '127.0.0.1', family: 4 }] }), 'http://evil.example/');
  assert.equal(named.address, '127.0.0.1');
  const metadata = await refusal(guard, 'http://metadata.google.internal/computeMetadata/v1/');
  assert.match(metadata.rule, /metadata/);
});

test('a name with one private answer among public ones is refused', async () => {
  const guard = new SsrfGuard({
    resolver: async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ],
  });
  const err = await refusal(guard, 'http://mixed.example/');
  assert.equal(err.address, '10.0.0.5');
});

test('public addresses pass; the allow list opens exactly its CIDRs', async () => {
  const open = new SsrfGuard();
  assert.equal(open.ruleFor('93.184.216.34'), undefined);
  assert.equal(open.ruleFor('2606:4700::1'), undefined);
  const guard = new SsrfGuard({ allow: ['127.0.0.1/32', '10.1.0.0/16'] });
  assert.equal((await guard.check(new URL('http://127.0.0.1:1/'))).address, '127.0.0.1');
  assert.equal(guard.ruleFor('10.1.200.3'), undefined);
  assert.match(guard.ruleFor('127.0.0.2') ?? '', /loopback/);
  assert.match(guard.ruleFor('10.2.0.1') ?? '', /private/);
  assert.throws(() => parseCidr('10.0.0.0/99'), /not a valid CIDR/);
  assert.throws(() => parseCidr('nope'), /not a valid CIDR/);
});

test('IPv6 forms that embed an IPv4 address are checked as that address; Teredo and local-use NAT64 are refused outright', async () => {
  const guard = new SsrfGuard();
  const refused: Array<[string, RegExp]> = [
    // NAT64 (RFC 6052 well-known prefix) of 127.0.0.1, 10.0.0.1 and the metadata address.
    ['64:ff9b::7f00:1', /loopback.*127\.0\.0\.1.*NAT64/],
    ['64:ff9b::10.0.0.1', /private.*10\.0\.0\.1.*NAT64/],
    ['64:ff9b::a9fe:a9fe', /metadata.*169\.254\.169\.254/],
    // The RFC 8215 local-use prefix: no checkable IPv4 address.
    ['64:ff9b:1::7f00:1', /local-use NAT64/],
    ['64:ff9b:1::5db8:d822', /local-use NAT64/],
    // 6to4 with 127.0.0.1 and 192.168.1.1 in bits 16-47.
    ['2002:7f00:1::', /loopback.*127\.0\.0\.1.*6to4/],
    ['2002:c0a8:101::1', /private.*192\.168\.1\.1.*6to4/],
    // Teredo, whatever it embeds.
    ['2001:0::1', /Teredo/],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
    // IPv4-compatible (deprecated) and IPv4-translated forms.
    ['::7f00:1', /loopback.*127\.0\.0\.1.*IPv4-compatible/],
    ['::a01:203', /private.*10\.1\.2\.3.*IPv4-compatible/],
    // (ipaddr.js reads the dotted spelling as IPv4-mapped; refused either way.)
    ['::10.1.2.3', /private/],
    ['::ffff:0:7f00:1', /loopback.*IPv4-translated/],
    // IPv4-mapped stays checked as IPv4, in either spelling.
    ['::ffff:7f00:1', /^a loopback address$/],
    ['::ffff:10.0.0.1', /^a private/],
    ['::ffff:169.254.169.254', /metadata/],
  ];
  for (const [address, rule] of refused) assert.match(guard.ruleFor(address) ?? 'passed', rule, address);
  // Through check(): the error names the literal address and the rule.
  const err = await refusal(guard, 'http://[64:ff9b::7f00:1]/x');
  assert.equal(err.address, '64:ff9b::7f00:1');
  assert.match(err.rule, /loopback/);
  assert.match((await refusal(guard, 'http://[2002:7f00:1::]/')).rule, /6to4/);
  assert.match((await refusal(guard, 'http://[2001::1]/')).rule, /Teredo/);
  assert.match((await refusal(guard, 'http://[::7f00:1]/')).rule, /loopback/);
  assert.match((await refusal(guard, 'http://[::127.0.0.1]/')).rule, /loopback/);
  // A public embedded address passes (NAT64 and 6to4 are how IPv6-only hosts reach IPv4 sites).
  assert.equal(guard.ruleFor('64:ff9b::5db8:d822'), undefined, 'NAT64 of 93.184.216.34');
  assert.equal(guard.ruleFor('2002:5db8:d822::1'), undefined, '6to4 of 93.184.216.34');
});

test('the allow list opens embedded forms: by the embedded IPv4 CIDR, or by an IPv6 CIDR over the form itself', () => {
  const byIPv4 = new SsrfGuard({ allow: ['127.0.0.1/32', '10.1.0.0/16'] });
  assert.equal(byIPv4.ruleFor('64:ff9b::7f00:1'), undefined);
  assert.equal(byIPv4.ruleFor('2002:7f00:1::'), undefined);
  assert.equal(byIPv4.ruleFor('::7f00:1'), undefined);
  assert.equal(byIPv4.ruleFor('::ffff:127.0.0.1'), undefined);
  assert.equal(byIPv4.ruleFor('64:ff9b::a01:203'), undefined, '10.1.2.3');
  assert.match(byIPv4.ruleFor('64:ff9b::7f00:2') ?? '', /loopback/, '127.0.0.2 is not allowed');
  assert.match(byIPv4.ruleFor('64:ff9b::a02:1') ?? '', /private/, '10.2.0.1 is not allowed');
  assert.match(byIPv4.ruleFor('2001::1') ?? '', /Teredo/, 'an IPv4 allow entry does not open Teredo');
  const byIPv6 = new SsrfGuard({ allow: ['2001::/32', '64:ff9b:1::/48', '2002:7f00::/24'] });
  assert.equal(byIPv6.ruleFor('2001:0:4136:e378:8000:63bf:3fff:fdd2'), undefined);
  assert.equal(byIPv6.ruleFor('64:ff9b:1::7f00:1'), undefined);
  assert.equal(byIPv6.ruleFor('2002:7f00:1::'), undefined);
  assert.match(byIPv6.ruleFor('64:ff9b::7f00:1') ?? '', /loopback/);
});

test('non-http schemes are refused', async () => {
  const err = await refusal(new SsrfGuard(), 'file:///etc/passwd');
  assert.match(err.rule, /scheme/);
});

test('a refused webhook sends nothing: the receiver on 127.0.0.1 gets no request', async () => {
  const guard = new SsrfGuard();
  for (const url of [receiver.url, `http://localhost:${receiver.port}/`, `http://[::1]:${receiver.port}/`]) {
    const target = new WebhookTarget({ name: 'refused', url }, { http: pools, ssrf: guard });
    const result = await target.run({ id: '1', message: 'x' }, attemptContext());
    assert.equal(result.ok, false);
    assert.equal(result.retryable, false);
    assert.match(result.error ?? '', /HKW_ERR_SSRF_REFUSED|Refused to connect/);
  }
  assert.equal(receiver.requests.length, 0);
});

test('the connection goes to the checked address while the Host header keeps the name (no second DNS lookup)', async () => {
  let lookups = 0;
  let clock = 1_000_000;
  const guard = new SsrfGuard({
    allow: ['127.0.0.1/32'],
    cacheTtlMs: 5_000,
    now: () => clock,
    resolver: async () => {
      lookups++;
      // A rebinding resolver: only the first answer is loopback-allowed; later ones point elsewhere.
      return lookups === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }];
    },
  });
  const target = new WebhookTarget({ name: 'pinned', url: `http://hooks.invalid:${receiver.port}/pinned` }, { http: pools, ssrf: guard });
  const before = receiver.requests.length;
  const result = await target.run({ id: '1' }, attemptContext());
  assert.equal(result.ok, true, result.error);
  assert.equal(lookups, 1, 'the socket connected without asking DNS again');
  const request = receiver.requests[before];
  assert.equal(request?.url, '/pinned');
  assert.equal(request?.headers.host, `hooks.invalid:${receiver.port}`);
  // Within the cache TTL the checked answer is reused: still the checked address, no lookup.
  const cached = await target.run({ id: '1' }, attemptContext());
  assert.equal(cached.ok, true, cached.error);
  assert.equal(lookups, 1);
  assert.equal(receiver.requests.length, before + 2);
  // Once it expires, the next check sees the rebound answer and refuses before connecting.
  clock += 5_001;
  const second = await target.run({ id: '1' }, attemptContext());
  assert.equal(lookups, 2);
  assert.equal(second.ok, false);
  assert.match(second.error ?? '', /10\.9\.9\.9/);
  assert.equal(receiver.requests.length, before + 2);
});

test('checked answers: a burst shares one lookup, refusals and failed lookups are not kept, cacheTtlMs 0 checks every time', async () => {
  let lookups = 0;
  let answer: LookupAddress[] | Error = [{ address: '127.0.0.1', family: 4 }];
  const resolver = async (): Promise<LookupAddress[]> => {
    lookups++;
    await new Promise((resolve) => setImmediate(resolve));
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const guard = new SsrfGuard({ allow: ['127.0.0.1/32'], resolver });
  const url = new URL('http://burst.invalid/');
  const checked = await Promise.all(Array.from({ length: 20 }, () => guard.check(url)));
  assert.equal(lookups, 1);
  assert.ok(checked.every((c) => c.address === '127.0.0.1'));
  assert.equal(guard.cached(url)?.address, '127.0.0.1');

  // A refused name is asked again next time (and refused with this URL in the error).
  const refusing = new SsrfGuard({ resolver });
  answer = [{ address: '10.1.2.3', family: 4 }];
  lookups = 0;
  await assert.rejects(refusing.check(new URL('http://a.invalid/x')), (err: Error) => err instanceof SsrfRefusedError && /a\.invalid\/x/.test(err.message));
  await assert.rejects(refusing.check(new URL('http://a.invalid/y')), (err: Error) => err instanceof SsrfRefusedError && /a\.invalid\/y/.test(err.message));
  assert.equal(lookups, 2);
  assert.equal(refusing.cached(new URL('http://a.invalid/')), undefined);

  // A failed lookup is not kept either.
  answer = new Error('ENOTFOUND');
  await assert.rejects(refusing.check(new URL('http://b.invalid/')), /ENOTFOUND/);
  answer = [{ address: '93.184.215.14', family: 4 }];
  assert.equal((await refusing.check(new URL('http://b.invalid/'))).address, '93.184.215.14');

  // cacheTtlMs: 0 resolves and checks on every request.
  const uncached = new SsrfGuard({ allow: ['127.0.0.1/32'], resolver, cacheTtlMs: 0 });
  answer = [{ address: '127.0.0.1', family: 4 }];
  lookups = 0;
  await uncached.check(url);
  await uncached.check(url);
  assert.equal(lookups, 2);
  assert.equal(uncached.cached(url), undefined);

  // IP literals are checked once and then known, refused ones never.
  const literals = new SsrfGuard({ allow: ['127.0.0.1/32'] });
  assert.equal(literals.cached(new URL('http://127.0.0.1:9/')), undefined);
  await literals.check(new URL('http://127.0.0.1:9/'));
  assert.equal(literals.cached(new URL('http://127.0.0.1:1234/other'))?.address, '127.0.0.1');
  await assert.rejects(literals.check(new URL('http://10.0.0.1/')), SsrfRefusedError);
  assert.equal(literals.cached(new URL('http://10.0.0.1/')), undefined);
});
