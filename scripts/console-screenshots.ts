// Takes the screenshots in docs/console/ (one PNG per console page) from a
// real gateway, as the console tests start it: `npx tsx scripts/console-screenshots.ts`.
// It emits events for about 40 s first, so the Overview's one-hour charts
// have a few 10 s samples to draw. Needs Chromium (HOOKWORK_CHROMIUM or /usr/bin/chromium).

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { startConsole } from '../test/console/harness.js';

const OUT = resolve(import.meta.dirname, '..', 'docs', 'console');
const SAMPLE_FOR_MS = 40_000;
const NAMES = ['alice', 'bob', 'carol', 'dave'];

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`) });
  process.stdout.write(`docs/console/${name}.png\n`);
}

mkdirSync(OUT, { recursive: true });
const hw = await startConsole();
try {
  let n = 0;
  const emitOne = () =>
    hw.emit({
      id: '30001',
      account: { uuid: `u-${n % 4}`, name: NAMES[n % 4] as string, token: 'a-secret-token-never-shown' },
      data: { path: `/reports/2026/q${(n % 4) + 1}-${n++}.pdf`, file_size: 1024 * n },
    });
  const until = Date.now() + SAMPLE_FOR_MS;
  while (Date.now() < until) {
    // A changing rate, so the charts have a shape.
    const burst = 2 + Math.round(4 * Math.abs(Math.sin(Date.now() / 6000)));
    await Promise.all(Array.from({ length: burst }, emitOne));
    if (Math.sin(Date.now() / 9000) > 0.6) hw.setFailing(false);
    else hw.setFailing(true);
    await new Promise((r) => setTimeout(r, 500));
  }
  hw.setFailing(true);

  const signedOut = await hw.open();
  await signedOut.page.goto('/ui/');
  await signedOut.page.getByLabel('Token').waitFor();
  await shoot(signedOut.page, 'sign-in');

  const { page } = await hw.open('superuser');
  await page.goto('/ui/');
  await page.locator('.chart canvas').first().waitFor();
  await shoot(page, 'overview');

  await page.goto('/ui/live');
  await page.getByText('connected', { exact: true }).waitFor();
  const live = setInterval(() => void emitOne(), 120);
  await page.locator('table.live tbody tr').nth(8).waitFor();
  clearInterval(live);
  await page.locator('table.live summary').first().click();
  await shoot(page, 'live');

  for (const [path, name, shows] of [
    ['/ui/plugins', 'plugins', 'audit-trail'],
    ['/ui/handlers', 'handlers', 'tagger'],
    ['/ui/targets', 'targets', 'orders'],
    ['/ui/deliveries', 'deliveries', 'crm'],
    ['/ui/config', 'config', 'console-test'],
  ] as const) {
    await page.goto(path);
    await page.getByRole('main').getByText(shows).first().waitFor();
    await shoot(page, name);
  }

  const [failed] = (await hw.server.runtime.services.delivery?.list({ target: 'handler:crm', state: 'failed' })) ?? [];
  if (failed !== undefined) {
    await page.goto(`/ui/deliveries/${failed.id}`);
    await page.getByRole('heading', { name: /Attempt 1:/ }).waitFor();
    await shoot(page, 'delivery');
  }
} finally {
  await hw.close();
}
