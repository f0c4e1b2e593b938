import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ClosedError } from '../../src/errors.js';
import { AdaptiveTransport } from '../../src/http/adaptive-transport.js';
import { kWorker } from '../../src/http/sender-thread.js';
import { generateSecret } from '../../src/http/signing.js';
import { SsrfGuard } from '../../src/http/ssrf-guard.js';
import { WebhookTarget } from '../../src/webhooks/sender.js';
import { attemptContext, useReceiver } from '../helpers/receiver.js';

const receiver = useReceiver();
const ssrf = new SsrfGuard({ allow: ['127.0.0.1/32'] });

/** An adaptive transport on 2 cores whose measured load the test sets: `others(cores)` lets a window pass with that load. */
function adaptive(): { transport: AdaptiveTransport; others: (cores: number) => void } {
  let clock = 0;
  let busy = 0;
  const transport = new AdaptiveTransport({ spare: { cores: 2, windowMs: 100, now: () => clock, sample: () => ({ machineBusyMs: busy, ownUs: 0 }) } });
  // The first request's check starts the first window.
  transport.spare.threadHasCore();
  return {
    transport,
    others(cores) {
      clock += 100;
      busy += cores * 100;
    },
  };
}

test('auto: each request goes out from the sender thread while other processes leave a core to spare, from the main thread once they take it; a request in flight ends where it started', async (t) => {
  const { transport, others } = adaptive();
  t.after(() => transport.close());
  await transport.start();
  const secret = generateSecret();
  const target = new WebhookTarget({ name: 'auto', url: `${receiver.url}/hook`, secrets: [secret] }, { http: transport, ssrf });
  let release: (() => void) | undefined;
  receiver.respond((request, res) => {
    if (request.url === '/hook' && request.headers['webhook-id'] === 'msg_held') release = () => res.writeHead(200).end('late');
    else res.writeHead(200).end('ok');
  });

  others(0.1);
  const onThread = await target.run({ id: '1', n: 1 }, attemptContext('msg_thread'));
  assert.equal(onThread.ok, true, onThread.error);
  assert.deepEqual([transport.sentOnThread, transport.sentOnMain], [1, 0]);
  const held = target.run({ id: '2', n: 2 }, attemptContext('msg_held'));
  await receiver.waitFor(2);
  assert.equal(transport.thread.inFlight, 1);

  // A neighbour takes a core: the next request goes out from the main thread while the held one waits on the thread.
  others(1);
  const onMain = await target.run({ id: '3', n: 3 }, attemptContext('msg_main'));
  assert.equal(onMain.ok, true, onMain.error);
  assert.deepEqual([transport.sentOnThread, transport.sentOnMain], [2, 1]);
  assert.equal(transport.thread.inFlight, 1);
  (release as () => void)();
  const late = await held;
  assert.equal(late.ok, true, late.error);
  assert.equal(transport.thread.inFlight, 0);

  // Either way a Standard Webhooks receiver verifies what arrived.
  const verifier = new Webhook(secret);
  const received = await receiver.waitFor(3);
  assert.deepEqual(
    received.map((r) => r.headers['webhook-id']),
    ['msg_thread', 'msg_held', 'msg_main'],
  );
  for (const r of received) verifier.verify(r.body, r.headers as Record<string, string>);
});

test('auto: a sender thread that died starts again for the next request the thread takes; close() closes both sides and later requests are refused', async (t) => {
  const { transport, others } = adaptive();
  t.after(() => transport.close());
  await transport.start();
  const target = new WebhookTarget({ name: 'auto', url: `${receiver.url}/hook`, secrets: [] }, { http: transport, ssrf });
  others(0);
  assert.equal((await target.run({ id: '1' }, attemptContext('msg_1'))).ok, true);
  const first = transport.thread[kWorker];
  await first?.terminate();
  const again = await target.run({ id: '2' }, attemptContext('msg_2'));
  assert.equal(again.ok, true, again.error);
  assert.notEqual(transport.thread[kWorker], first);
  assert.equal(transport.sentOnThread, 2);
  others(1);
  assert.equal((await target.run({ id: '3' }, attemptContext('msg_3'))).ok, true);
  assert.equal(transport.sentOnMain, 1);

  await transport.close();
  assert.equal(transport.closed, true);
  assert.equal(transport.thread.closed, true);
  assert.equal(transport.pools.closed, true);
  const lane = transport.lane(receiver.url, { hostname: '127.0.0.1', address: '127.0.0.1', family: 4 });
  assert.equal(lane.stale, true);
  const refused = await target.run({ id: '4' }, attemptContext('msg_4'));
  assert.equal(refused.ok, false);
  assert.match(String(refused.error), new RegExp(new ClosedError('The webhook transport').message.replace('.', '\\.')));
});
