// The console in a real Chromium against a real gateway (`hookwork serve`'s
// code path, a SQLite store, real receivers): every page loads with live
// data, breaks no CSP rule and has no serious or critical axe violation; the
// live stream shows an emitted event; a failing delivery shows its attempts
// and is retried and replayed from the page; a plugin is unloaded and loaded
// again; handlers and targets are stopped/started and disabled/enabled.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/wait-for.js';
import { axeViolations, startConsole, type Console, type Watched } from './harness.js';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

let hw: Console;
let su: Watched;

async function deliveriesOf(target: string, state?: string): Promise<{ id: string; state: string; attempts: number }[]> {
  const delivery = hw.server.runtime.services.delivery;
  assert.ok(delivery);
  const all = await delivery.list({ target, ...(state === undefined ? {} : { state: state as 'failed' }) });
  return all.map((d) => ({ id: d.id, state: d.state, attempts: d.attempts }));
}

async function visit(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

describe('the console, signed in as a superuser', () => {
  before(async () => {
    hw = await startConsole();
    await hw.emit({ id: '30001', account: { uuid: 'u-1', name: 'alice' }, data: { path: '/reports/q3.pdf' } });
    await waitFor(async () => (await deliveriesOf('handler:crm', 'failed')).length === 1, { what: 'the crm delivery to fail', timeoutMs: 20_000 });
    await waitFor(async () => (await deliveriesOf('handler:orders', 'done')).length === 1, { what: 'the orders delivery', timeoutMs: 20_000 });
    su = await hw.open('superuser');
  });
  after(async () => {
    await hw?.close();
  });

  test('/ui/ answers with the CSP and the other security headers; an asset is cached for good; Chromium blocks and reports an inline script', async () => {
    const res = await fetch(`${hw.url}/ui/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), CSP);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const html = await res.text();
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script);
    const asset = await fetch(`${hw.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(asset.headers.get('content-security-policy'), CSP);

    // The browser enforces it, and the tests see a violation when there is one: an inline script is blocked and reported.
    const probe = await hw.open();
    await probe.page.goto('/ui/');
    await probe.page.getByLabel('Token').waitFor();
    await probe.page.evaluate("const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s);");
    await waitFor(() => probe.violations.length > 0, { what: 'the inline script to be reported' });
    assert.match(probe.violations.join('\n'), /script-src/);
    assert.equal(await probe.page.evaluate('window.__inline'), undefined, 'the inline script did not run');
    await probe.context.close();
  });

  const PAGES: { path: string; title: string; shows: string }[] = [
    { path: '/ui/', title: 'Overview', shows: 'crm' },
    { path: '/ui/live', title: 'Live events', shows: 'Waiting for events' },
    { path: '/ui/plugins', title: 'Plugins', shows: 'audit-trail' },
    { path: '/ui/handlers', title: 'Extension handlers', shows: 'tagger' },
    { path: '/ui/targets', title: 'Targets', shows: 'orders' },
    { path: '/ui/deliveries', title: 'Deliveries', shows: 'crm' },
    { path: '/ui/config', title: 'Config', shows: 'console-test' },
  ];

  test('every page loads with live data, shows times with their UTC value, breaks no CSP rule and has no serious or critical axe violation', async () => {
    const { page } = su;
    for (const { path, title, shows } of PAGES) {
      await visit(page, path);
      assert.equal(await page.getByRole('heading', { level: 1 }).first().textContent(), title, path);
      await page.getByRole('main').getByText(shows).first().waitFor();
      assert.deepEqual(await axeViolations(page), [], `axe on ${path}`);
    }
    // One delivery, from the list.
    await visit(page, '/ui/deliveries?target=handler:crm');
    await page.locator('tr', { hasText: 'crm' }).getByRole('link').first().click();
    await page.getByRole('heading', { name: /Attempt 1/ }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'axe on a delivery');
    const title = await page.locator('main time').first().getAttribute('title');
    assert.match(title ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(UTC\)$/, 'the exact UTC time is in the title');
    assert.deepEqual(su.violations, [], 'no CSP violation on any page');
    assert.deepEqual(su.errors, [], 'no page error');
  });

  test('an event emitted over HTTP appears in the live stream, and the filters narrow it', async () => {
    const { page } = su;
    await visit(page, '/ui/live');
    await page.getByText('connected', { exact: true }).waitFor();
    await hw.emit({ id: '30001', account: { uuid: 'u-2', name: 'bob', token: 'bob-secret-token' }, data: { path: '/live/one.txt' } });
    const row = page.locator('tr', { hasText: 'bob uploaded /live/one.txt' });
    await row.waitFor();
    await row.locator('summary').click();
    await row.locator('pre').waitFor();
    const envelope = await row.locator('pre').textContent();
    assert.match(envelope ?? '', /"\/live\/one.txt"/);
    assert.doesNotMatch(envelope ?? '', /bob-secret-token/, 'secrets are redacted in the stream');

    await page.getByLabel('Account').fill('carol');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('connected', { exact: true }).waitFor();
    await hw.emit({ id: '30001', account: { uuid: 'u-3', name: 'dave' }, data: { path: '/live/dave.txt' } });
    await hw.emit({ id: '30001', account: { uuid: 'carol', name: 'carol' }, data: { path: '/live/carol.txt' } });
    await page.locator('tr', { hasText: 'carol uploaded /live/carol.txt' }).waitFor();
    assert.equal(await page.locator('tr', { hasText: 'dave uploaded /live/dave.txt' }).count(), 0, 'the account filter keeps dave out');
    assert.deepEqual(su.violations, []);
  });

  test('at about 1,000 events per second the live page stays responsive, shows at most 100 rows and counts what it did not show', async () => {
    const { page } = su;
    await visit(page, '/ui/live');
    await page.getByLabel('Event id').fill('30099');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('connected', { exact: true }).waitFor();
    const TOTAL = 2000;
    // In process, 100 every 100 ms: about 1,000 a second for two seconds.
    const host = hw.server.runtime.host;
    const burst = (async () => {
      for (let sent = 0; sent < TOTAL; sent += 100) {
        for (let i = 0; i < 100; i++) void host.emit('30099', { data: { n: sent + i } });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // The page answers a click while the burst runs.
    await page.locator('table.live tbody tr').first().waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).click();
    await burst;
    const counts = async () => {
      const text = (await page.getByTestId('live-counts').textContent()) ?? '';
      const [received, sampled, dropped] = [/received (\d+)/, /sampled out (\d+)/, /dropped by server (\d+)/].map((re) => Number(re.exec(text)?.[1]));
      return { received: received as number, sampled: sampled as number, dropped: dropped as number };
    };
    const final = await waitFor(async () => {
      const c = await counts();
      return c.received + c.dropped === TOTAL ? c : undefined;
    }, { what: 'every event received or reported dropped', timeoutMs: 30_000 });
    assert.ok(final.sampled > 0, `the page sampled (${JSON.stringify(final)})`);
    assert.ok((await page.locator('table.live tbody tr').count()) <= 100, 'at most 100 rows rendered');
    assert.deepEqual(su.errors, []);
  });

  test("right after Apply the badge says connecting…, not the old stream's state, until the stream of the new filters is open", async () => {
    // A page of its own: its timers are frozen, so the effect that opens the new stream waits (as on a busy machine).
    const probe = await hw.open('superuser');
    try {
      const { page } = probe;
      await page.clock.install();
      await visit(page, '/ui/live');
      await page.getByText('connected', { exact: true }).waitFor();
      await page.clock.pauseAt(Date.now() + 60_000);
      await page.getByLabel('Event id').fill('30099');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      assert.equal(await page.locator('.toolbar [role=status]').textContent(), 'connecting…', 'the old stream is not the new filters\' stream');
      await page.clock.resume();
      await page.getByText('connected', { exact: true }).waitFor();
    } finally {
      await probe.context.close();
    }
  });

  test('applying filters starts the counters again: an event of the old filters is not counted with the new ones', async () => {
    const { page } = su;
    await visit(page, '/ui/live');
    await page.getByText('connected', { exact: true }).waitFor();
    await hw.emit({ id: '30001', account: { uuid: 'u-4', name: 'erin' }, data: { path: '/live/erin.txt' } });
    await page.getByTestId('live-counts').getByText(/^received [1-9]/).waitFor();
    await page.getByLabel('Event id').fill('30099');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('connected', { exact: true }).waitFor();
    for (let i = 0; i < 10; i++) await hw.server.runtime.host.emit('30099', { data: { n: i } });
    await page.locator('table.live tbody tr').nth(9).waitFor();
    assert.match((await page.getByTestId('live-counts').textContent()) ?? '', /^received 10 · sampled out 0 · dropped by server 0/);
  });

  test("the live page's counts survive a reconnect: the server resumes the stream and counts what the page missed as dropped", async () => {
    const { page } = su;
    await visit(page, '/ui/live');
    await page.getByLabel('Event id').fill('30099');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('connected', { exact: true }).waitFor();
    const TOTAL = 1000;
    const host = hw.server.runtime.host;
    for (let i = 0; i < TOTAL / 2; i++) void host.emit('30099', { data: { n: i } });
    // Cut every connection to the gateway, the stream's included, while those events are on their way:
    // the browser reconnects on its own (with the last event's id), and the other half comes meanwhile.
    await host.idle();
    hw.server.gateway.app.server.closeAllConnections();
    for (let i = TOTAL / 2; i < TOTAL; i++) void host.emit('30099', { data: { n: i } });
    await page.getByText('connecting…', { exact: true }).waitFor();
    await page.getByText('connected', { exact: true }).waitFor();
    const counts = async () => {
      const text = (await page.getByTestId('live-counts').textContent()) ?? '';
      const [received, dropped] = [/received (\d+)/, /dropped by server (\d+)/].map((re) => Number(re.exec(text)?.[1]));
      return { received: received as number, dropped: dropped as number, text };
    };
    const final = await waitFor(async () => {
      const c = await counts();
      return c.received + c.dropped === TOTAL ? c : undefined;
    }, { what: 'every event received or reported dropped across the reconnect', timeoutMs: 30_000 });
    // 500 came while the page was away, more than the 256 the gateway queues: the rest were counted, not lost.
    assert.ok(final.dropped > 0, final.text);
    assert.doesNotMatch(final.text, /interruption/, 'the server resumed the stream: no gap');
    assert.ok((await page.locator('table.live tbody tr').count()) <= 100, 'at most 100 rows rendered');
  });

  test("a failing receiver's delivery shows its attempts; retry and replay work from the page", async () => {
    const { page } = su;
    const [failed] = await deliveriesOf('handler:crm', 'failed');
    assert.ok(failed);
    await visit(page, `/ui/deliveries/${failed.id}`);
    const first = page.getByRole('article').filter({ has: page.getByRole('heading', { name: /Attempt 1/ }) });
    await first.waitFor();
    const text = (await first.textContent()) ?? '';
    assert.match(text, /HTTP 500/);
    assert.match(text, /the CRM is down/, 'the response body');
    assert.match(text, /took \d+ ms/, 'the duration');
    assert.match(text, /answered 500/, 'the error');

    const delivery = hw.server.runtime.services.delivery;
    assert.ok(delivery);
    const tried = (await delivery.get(failed.id)).attempts.length;
    await page.getByRole('button', { name: 'Retry now' }).click();
    await waitFor(async () => {
      const detail = await delivery.get(failed.id);
      return detail.attempts.length > tried && detail.delivery.state === 'failed';
    }, { what: 'the retried delivery to fail again' });
    await page.getByRole('heading', { name: new RegExp(`Attempt ${tried + 1}:`) }).waitFor();

    // The receiver is fixed: the dead letters are replayed from the deliveries page.
    hw.setFailing(false);
    const received = hw.failing.requests.length;
    await visit(page, '/ui/deliveries?target=handler:crm&state=failed');
    await page.getByText('Replay dead letters').click();
    await page.getByLabel('Failed since').fill('2000-01-01T00:00:00');
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    const progress = page.getByRole('progressbar');
    await progress.waitFor();
    await waitFor(async () => {
      const [value, max] = await Promise.all([progress.getAttribute('value'), progress.getAttribute('max')]);
      return max !== null && value === max;
    }, { what: 'the replay progress bar to be full', timeoutMs: 20_000 });
    assert.equal((await deliveriesOf('handler:crm', 'failed')).length, 0, 'no dead letter left');
    assert.ok(hw.failing.requests.length > received, 'the receiver got the replayed delivery');
    assert.deepEqual(su.violations, []);
  });

  test("a delivery's attempt shows the request as sent (headers and body) and the response's headers", async () => {
    const { page } = su;
    const delivery = hw.server.runtime.services.delivery;
    assert.ok(delivery);
    const failed = (await delivery.list({ target: 'handler:crm' })).find((d) => JSON.stringify(d.event).includes('q3.pdf'));
    assert.ok(failed);
    await visit(page, `/ui/deliveries/${failed.id}`);
    const first = page.getByRole('article').filter({ has: page.getByRole('heading', { name: /Attempt 1:/ }) });
    await first.waitFor();
    const request = (await first.locator('.request').textContent()) ?? '';
    const response = (await first.locator('.response').textContent()) ?? '';
    assert.match(request, /content-type/i, 'the request headers');
    assert.match(request, /webhook-id/i, 'the webhook-id header as sent');
    assert.match(request, /q3\.pdf/, 'the request body');
    assert.match(response, /x-receiver/, 'the response headers');
  });

  test('the config draft is validated from the page, each problem listed with its key', async () => {
    const { page } = su;
    await visit(page, '/ui/config');
    const draft = page.getByLabel(/^Draft/);
    const text = await draft.inputValue();
    assert.match(text, /token: \[redacted\]|"\[redacted\]"|\[redacted\]/, 'the file text has its secrets redacted');
    assert.doesNotMatch(text, /console-superuser-token/);
    await draft.fill(text.replace('log_level: silent', 'log_level: loud'));
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByText('The draft has problems.').waitFor();
    await page.locator('table.problems tr', { hasText: 'log_level' }).waitFor();
    await draft.fill(text);
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByText('The draft is valid.').waitFor();
    assert.deepEqual(await axeViolations(page), []);
  });

  test('a plugin is unloaded and loaded again from the page', async () => {
    const { page } = su;
    const plugins = hw.server.runtime.services.plugins;
    assert.ok(plugins);
    await visit(page, '/ui/plugins');
    const row = page.locator('tr', { hasText: 'audit-trail' });
    await row.getByRole('button', { name: 'Unload', exact: true }).click();
    await row.getByRole('button', { name: 'Load', exact: true }).waitFor();
    assert.notEqual(plugins.list().find((p) => p.name === 'audit-trail')?.state, 'running');
    await row.getByRole('button', { name: 'Load', exact: true }).click();
    await row.getByRole('button', { name: 'Unload', exact: true }).waitFor();
    assert.equal(plugins.list().find((p) => p.name === 'audit-trail')?.state, 'running');
  });

  test('an extension handler is stopped and started, and a target disabled and enabled, from the pages', async () => {
    const { page } = su;
    await visit(page, '/ui/handlers');
    const handler = page.locator('tr', { hasText: 'tagger' });
    await handler.getByRole('button', { name: 'Stop', exact: true }).click();
    await handler.getByRole('button', { name: 'Start', exact: true }).click();
    await handler.getByRole('button', { name: 'Stop', exact: true }).waitFor();

    await visit(page, '/ui/targets');
    const target = page.locator('tr', { hasText: 'orders' });
    await target.getByRole('button', { name: 'Disable', exact: true }).click();
    await target.getByText('disabled', { exact: true }).waitFor();
    await target.getByRole('button', { name: 'Enable', exact: true }).click();
    await target.getByRole('button', { name: 'Disable', exact: true }).waitFor();
    assert.deepEqual(su.violations, []);
    assert.deepEqual(su.errors, []);
  });
});
