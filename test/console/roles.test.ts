// Roles and sessions in the console, in a real Chromium: a viewer sees every
// page and no action button, and the server refuses a forged request made
// with a viewer's session (403) whatever the page shows; a state-changing
// request without the CSRF token is refused; signing out ends the session on
// the server (its cookie no longer works).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/wait-for.js';
import { axeViolations, startConsole, TOKENS, type Console } from './harness.js';

let hw: Console;

/** The buttons that act (every one the pages can show to an operator or a superuser). */
const ACTIONS = /^(Load|Unload|Reload|Start|Stop|Enable|Disable|Retry now|Replay|Validate|Apply)$/;

describe('console roles and sessions', () => {
  before(async () => {
    hw = await startConsole();
    await hw.emit({ id: '30001', account: { uuid: 'u-1', name: 'alice' }, data: { path: '/a.txt' } });
    const delivery = hw.server.runtime.services.delivery;
    assert.ok(delivery);
    await waitFor(async () => (await delivery.list({ target: 'handler:crm', state: 'failed' })).length === 1, { what: 'a failed delivery', timeoutMs: 20_000 });
  });
  after(async () => {
    await hw?.close();
  });

  test('a viewer sees every page with its data and no action button; errors and empty results are shown as such; the sign-in page passes axe; signing in and moving around works from the keyboard', async () => {
    const anonymous = await hw.open();
    await anonymous.page.goto('/ui/');
    await anonymous.page.getByLabel('Token').waitFor();
    assert.deepEqual(await axeViolations(anonymous.page), [], 'axe on the sign-in page');
    // Keyboard only: sign in, skip to the content, move through the navigation.
    const keys = anonymous.page.keyboard;
    await anonymous.page.getByLabel('Token').focus();
    await keys.type(TOKENS.viewer);
    await keys.press('Enter');
    await anonymous.page.getByRole('navigation', { name: 'Console pages' }).waitFor();
    await anonymous.page.locator('body').focus();
    await keys.press('Tab');
    assert.equal(await anonymous.page.evaluate('document.activeElement.textContent.trim()'), 'Skip to content');
    await keys.press('Enter');
    assert.equal(await anonymous.page.evaluate('document.activeElement.id'), 'main', 'focus moves to the content');
    await anonymous.page.getByRole('link', { name: 'Plugins' }).focus();
    await keys.press('Enter');
    await anonymous.page.getByRole('heading', { name: 'Plugins', level: 1 }).waitFor();

    const { page, violations } = await hw.open('viewer');
    const [failed] = (await hw.server.runtime.services.delivery?.list({ target: 'handler:crm' })) ?? [];
    assert.ok(failed);
    const pages: [string, string][] = [
      ['/ui/', 'crm'],
      ['/ui/plugins', 'audit-trail'],
      ['/ui/handlers', 'tagger'],
      ['/ui/targets', 'orders'],
      ['/ui/deliveries', 'crm'],
      [`/ui/deliveries/${failed.id}`, 'Attempt 1'],
      ['/ui/config', 'console-test'],
      ['/ui/live', 'Waiting for events'],
    ];
    for (const [path, shows] of pages) {
      await page.goto(path);
      await page.getByRole('main').getByText(shows).first().waitFor();
      const names = await page.getByRole('button').allTextContents();
      assert.deepEqual(
        names.map((n) => n.trim()).filter((n) => ACTIONS.test(n)),
        [],
        `no action button on ${path} (buttons: ${names.join(', ')})`,
      );
    }
    assert.equal(await page.getByText('Replay dead letters').count(), 0, 'no replay form');
    // Error and empty states say what happened.
    await page.goto('/ui/deliveries/dlv_nope');
    await page.getByRole('alert').getByText('HKW_ERR_DELIVERY_NOT_FOUND').waitFor();
    await page.goto('/ui/deliveries?target=nobody');
    await page.getByText('No delivery matches this search.').waitFor();
    await page.goto('/ui/nowhere');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    assert.equal(await page.getByText('vera').count(), 1, "the viewer's name is shown");
    assert.deepEqual(violations, []);
  });

  test("a forged request with a viewer's session (and its CSRF token) is refused 403; without the CSRF token an operator's is refused too", async () => {
    const [failed] = (await hw.server.runtime.services.delivery?.list({ target: 'handler:crm' })) ?? [];
    assert.ok(failed);
    // The page's own fetch: the browser sends the session cookie.
    const forge = `async ([path, withCsrf]) => {
      const session = await (await fetch('/v1/session')).json();
      const headers = { 'content-type': 'application/json' };
      if (withCsrf) headers['x-csrf-token'] = session.csrf_token;
      const res = await fetch(path, { method: 'POST', headers, body: '{}' });
      return { status: res.status, body: await res.json() };
    }`;
    const viewer = await hw.open('viewer');
    for (const path of [`/v1/deliveries/${failed.id}/retry`, '/v1/plugins/audit-trail/unload', '/v1/deliveries/targets/handler:orders/disable']) {
      const reply = (await viewer.page.evaluate(`(${forge})(${JSON.stringify([path, true])})`)) as { status: number; body: { code: string } };
      assert.equal(reply.status, 403, path);
      assert.equal(reply.body.code, 'HKW_ERR_FORBIDDEN', path);
    }
    const operator = await hw.open('operator');
    const noCsrf = (await operator.page.evaluate(`(${forge})(${JSON.stringify([`/v1/deliveries/${failed.id}/retry`, false])})`)) as { status: number; body: { code: string } };
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.code, 'HKW_ERR_CSRF');
    assert.equal(hw.server.runtime.services.plugins?.list().find((p) => p.name === 'audit-trail')?.state, 'running', 'nothing was unloaded');
  });

  test('a session survives a reload (CSRF token asked again, nothing in web storage); signing out ends it on the server: its cookie is refused afterwards', async () => {
    const { context, page } = await hw.open('operator');
    const cookie = (await context.cookies()).find((c) => c.name === 'hkw_session');
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    const asCookie = { cookie: `hkw_session=${cookie.value}` };
    assert.equal((await fetch(`${hw.url}/v1/session`, { headers: asCookie })).status, 200);
    // A reload keeps the session (the page asks GET /v1/session for its CSRF token again) and can still act.
    await page.goto('/ui/targets');
    await page.reload();
    const orders = page.locator('tr', { hasText: 'orders' });
    await orders.getByRole('button', { name: 'Disable', exact: true }).click();
    await orders.getByRole('button', { name: 'Enable', exact: true }).click();
    await orders.getByRole('button', { name: 'Disable', exact: true }).waitFor();
    assert.equal(await page.evaluate('localStorage.length + sessionStorage.length'), 0, 'nothing kept in web storage');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    await page.getByText('You signed out.').waitFor();
    assert.equal((await fetch(`${hw.url}/v1/session`, { headers: asCookie })).status, 401, 'the old cookie no longer signs in');
    assert.equal((await fetch(`${hw.url}/v1/deliveries`, { headers: asCookie })).status, 401);
    await page.reload();
    await page.getByLabel('Token').waitFor();
  });
});
