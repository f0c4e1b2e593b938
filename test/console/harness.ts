// The console tests' set-up: a real gateway started through `hookwork
// serve`'s code path (startServer, from a YAML config file, so the Config page
// has a file to show), a real SQLite store under its data folder, two real
// receivers (one that answers 200, one that fails until told otherwise), a
// plugin and an extension handler; and one Chromium (playwright-core) per
// test file. Every page is watched for CSP violations and page errors.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/cli/commands/serve.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { ensureUiBuilt, ROOT } from '../../scripts/build-ui.js';

export const TOKENS = {
  superuser: 'console-superuser-token-0123456789',
  operator: 'console-operator-token-0123456789',
  viewer: 'console-viewer-token-0123456789',
} as const;
export type RoleName = keyof typeof TOKENS;

const HOOKWORK_URL = new URL('../../src/index.ts', import.meta.url).href;

export interface Console {
  readonly url: string;
  readonly server: RunningServer;
  readonly ok: Receiver;
  readonly failing: Receiver;
  readonly browser: Browser;
  /** Sets whether the failing receiver answers 500 (default) or 200. */
  setFailing(fail: boolean): void;
  /** A new browser context (its own cookies), signed in as `role` when given; CSP violations and page errors are collected. */
  open(role?: RoleName): Promise<Watched>;
  /** Emits an event over HTTP, as a host would. */
  emit(body: Record<string, unknown>): Promise<{ uuid: string }>;
  close(): Promise<void>;
}

export interface Watched {
  readonly context: BrowserContext;
  readonly page: Page;
  /** CSP violations reported on any page of the context (securitypolicyviolation events and console reports). */
  readonly violations: string[];
  readonly errors: string[];
}

function chromiumPath(): string {
  return process.env['HOOKWORK_CHROMIUM'] ?? '/usr/bin/chromium';
}

const PLUGIN = `
import { definePlugin } from ${JSON.stringify(HOOKWORK_URL)};
export default definePlugin({
  name: 'audit-trail',
  version: '1.2.0',
  description: 'Counts uploads (a console test plugin).',
  setup(ctx) {
    let uploads = 0;
    ctx.on('upload', () => { uploads += 1; });
    ctx.route('GET', '/count', () => ({ uploads }));
  },
});
`;

const HANDLER = `
export class Tagger {
  static handle(event) { return 'tagged ' + event.id; }
}
`;

// The Config test validates this file's text, as GET /v1/config shows it
// (each secret as "[redacted]"), unchanged.
function configYaml(ok: Receiver, failing: Receiver): string {
  return `# The console tests' gateway.
server:
  name: console-test
  data_dir: data
log_level: silent
auth:
  tokens:
    - { name: ada, role: superuser, token: '${TOKENS.superuser}' }
    - { name: otto, role: operator, token: '${TOKENS.operator}' }
    - { name: vera, role: viewer, token: '${TOKENS.viewer}' }
events:
  - { id: '30001', name: upload, groups: [file, transfer], message: '{{account.name}} uploaded {{data.path}}' }
  - { id: '30099', name: heartbeat, groups: [metrics], message: 'beat {{data.n}}' }
ssrf:
  allow: ['127.0.0.1/32']
delivery:
  retry_schedule: [0]
  poll_interval: 0.05
plugins:
  folder: plugins
  active: [audit-trail]
extensions:
  folder: extensions
  pool: { size: 1 }
handlers:
  - { type: webhook, name: orders, url: '${ok.url}/orders', actions: [upload] }
  - { type: webhook, name: crm, url: '${failing.url}/crm', actions: [upload] }
  - { type: extension, name: tagger, entry_point: 'tagger.mjs#Tagger', target_events: ['30001'] }
`;
}

export async function startConsole(): Promise<Console> {
  await ensureUiBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-console-'));
  mkdirSync(join(dir, 'plugins'));
  mkdirSync(join(dir, 'extensions'));
  writeFileSync(join(dir, 'plugins', 'audit-trail.mjs'), PLUGIN);
  writeFileSync(join(dir, 'extensions', 'tagger.mjs'), HANDLER);
  const ok = await startReceiver();
  const failing = await startReceiver();
  let fail = true;
  failing.respond((_req, res) => {
    if (fail) res.writeHead(500, { 'content-type': 'application/json', 'x-receiver': 'failing' }).end('{"error":"the CRM is down"}');
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const configFile = join(dir, 'hookwork.yaml');
  writeFileSync(configFile, configYaml(ok, failing));
  // No HOOKWORK_* variable of the test run (HOOKWORK_CHROMIUM...) may change this config.
  const server = await startServer({ config: configFile, port: 0, host: '127.0.0.1', env: {} });
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const url = server.url;
  const contexts: BrowserContext[] = [];

  const open = async (role?: RoleName): Promise<Watched> => {
    const context = await browser.newContext({ baseURL: url, timezoneId: 'Europe/Paris', locale: 'en-GB', viewport: { width: 1360, height: 900 } });
    contexts.push(context);
    const violations: string[] = [];
    const errors: string[] = [];
    // Exposed through CDP, and the listener is added by an init script run
    // by the browser (neither is an inline script the CSP would judge).
    await context.exposeFunction('__reportCsp', (text: string) => violations.push(text));
    await context.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (e) => window.__reportCsp(e.violatedDirective + ' blocked ' + e.blockedURI));",
    });
    context.on('console', (msg) => {
      if (/Content Security Policy|Content-Security-Policy/i.test(msg.text())) violations.push(msg.text());
    });
    context.on('weberror', (e) => errors.push(e.error().message));
    const page = await context.newPage();
    if (role !== undefined) await signIn(page, role);
    return { context, page, violations, errors };
  };

  return {
    url,
    server,
    ok,
    failing,
    browser,
    setFailing(value) {
      fail = value;
    },
    open,
    async emit(body) {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.operator}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 202) throw new Error(`emit answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { uuid: string };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await server.stop();
      await ok.close();
      await failing.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function signIn(page: Page, role: RoleName): Promise<void> {
  await page.goto('/ui/');
  await page.getByLabel('Token').fill(TOKENS[role]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console pages' }).waitFor();
}

const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations on the page. axe is evaluated
 * through the DevTools protocol: page.addScriptTag would add an inline
 * script, which the console's CSP blocks (and reports as a violation).
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  // A string: this file is compiled without the DOM library.
  const results = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)),
  })))`)) as { id: string; impact: string | null; help: string; targets: string[] }[];
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.join(' ')}`);
}
