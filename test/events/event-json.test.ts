import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventCopyJsonText, eventJsonText } from '../../src/events/event-json.js';
import { partsText } from '../helpers/event-json-parts.js';
import { toWorkerCopy } from '../../src/extensions/handler.js';
import { createHost } from '../../src/host.js';
import { silentLogger } from '../../src/logger.js';

// The account's and component's JSON is made once for a run of events whose
// accounts (and components) are equal member for member: every change of a
// member, one after the other, must still give JSON.stringify's text.
test('eventJsonText and eventCopyJsonText follow every change of account and component from one event to the next', async () => {
  const host = createHost({ logger: silentLogger(), events: [{ id: '100', name: 'file-uploaded' }] });
  try {
    const base = { uuid: 'u-1', name: 'alice', peer: { address: '10.0.0.1', port: 22, protocol: 'TCP', family: 'IPv4' } };
    const accounts = [
      base,
      base,
      { ...base },
      { ...base, name: 'bob' },
      { ...base, uuid: 'u-2' },
      { ...base, email: 'a@x' },
      { ...base, email: 'b@x' },
      { ...base, role: 'admin' },
      { ...base, role: 'user' },
      { ...base, groups: ['g1'] },
      { ...base, groups: ['g2'] },
      { ...base, emails: [['Alice', 'a@x']] as Array<[string, string]> },
      { ...base, emails: [['Alice', 'b@x']] as Array<[string, string]> },
      { ...base, token: 'secret' },
      { ...base, peer: { ...base.peer, address: '10.0.0.2' } },
      { ...base, peer: { ...base.peer, port: 2222 } },
      { ...base, peer: { ...base.peer, protocol: 'UDP' } },
      { ...base, peer: { ...base.peer, family: 'IPv6' } },
      { ...base, peer: { ...base.peer, port: Number.NaN } },
      { ...base, peer: { ...base.peer, port: Number.NaN } },
      base,
    ];
    const components = [undefined, { uuid: 'c-1', name: 'sftp', type: 'ssh' }, { uuid: 'c-1', name: 'sftp', type: 'ssh' }, { uuid: 'c-1', name: 'ftp', type: 'ssh' }, { uuid: 'c-2', name: 'ftp', type: 'ssh' }, { uuid: 'c-2', name: 'ftp', type: 'ftps' }];
    for (const component of components) {
      for (const account of accounts) {
        const event = await host.emit('100', { account, ...(component === undefined ? {} : { component }), data: { n: 1 } });
        assert.equal(eventJsonText(event), JSON.stringify(event));
        assert.equal(eventCopyJsonText(event), JSON.stringify(toWorkerCopy(event, false)));
        assert.equal(partsText(event), JSON.stringify(toWorkerCopy(event, false)), 'its parts write the same bytes');
        assert.equal(eventJsonText(event).includes('secret'), false);
      }
    }
    // The process account between two equal accounts, and another host's server.
    const other = createHost({ logger: silentLogger(), server: { name: 'sftp-2', uuid: 'srv-2' }, events: [{ id: '100', name: 'file-uploaded' }] });
    try {
      for (const [h, input] of [[host, { account: base }], [host, {}], [host, { account: base }], [other, { account: base }], [host, { account: base }]] as const) {
        const event = await h.emit('100', input);
        assert.equal(eventJsonText(event), JSON.stringify(event));
        assert.equal(eventCopyJsonText(event), JSON.stringify(toWorkerCopy(event, false)));
        assert.equal(partsText(event), JSON.stringify(toWorkerCopy(event, false)), 'its parts write the same bytes');
      }
    } finally {
      await other.close();
    }
  } finally {
    await host.close();
  }
});
