import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { buildEnvelope, type AccountInput, type HookworkEvent } from '../../src/events/envelope.js';
import { compileFilters } from '../../src/events/filters.js';
import { handlerProblems } from '../config/helpers.js';

function event(data: Record<string, unknown>, account?: AccountInput, id = '100'): HookworkEvent {
  return buildEnvelope({
    id,
    name: 'test',
    groups: [],
    data: Object.freeze({ ...data }),
    input: account === undefined ? {} : { account },
    server: { uuid: 's', name: 'server' },
    message: undefined,
  });
}

const matcher = (conditions: unknown) => compileFilters({ conditions }, { where: 'handlers.0' });

describe('conditions', () => {
  test('numeric comparisons: gt and lte together bound a range; numeric strings compare as numbers', () => {
    const f = matcher({ file_size: { gt: 1048576, lte: 1073741824 } });
    assert.equal(f.matches(event({ file_size: 1048576 })), false);
    assert.equal(f.matches(event({ file_size: 1048577 })), true);
    assert.equal(f.matches(event({ file_size: 1073741824 })), true);
    assert.equal(f.matches(event({ file_size: 1073741825 })), false);
    assert.equal(f.matches(event({ file_size: '2000000' })), true);
    assert.equal(f.matches(event({ file_size: 'big' })), false);
    assert.equal(f.matches(event({})), false, 'a missing field fails');
    const g = matcher({ n: { gte: 5, lt: 7 } });
    assert.deepEqual([4, 5, 6, 7].map((n) => g.matches(event({ n }))), [false, true, true, false]);
  });

  test('eq / ne on numbers, strings (case-insensitive) and booleans', () => {
    assert.equal(matcher({ status: { eq: 1 } }).matches(event({ status: 1 })), true);
    assert.equal(matcher({ status: { eq: 1 } }).matches(event({ status: 2 })), false);
    assert.equal(matcher({ status: { ne: 1 } }).matches(event({ status: 2 })), true);
    assert.equal(matcher({ status: { ne: 1 } }).matches(event({})), false, 'ne on a missing field fails too');
    assert.equal(matcher({ protocol: { eq: 'sftp' } }).matches(event({ protocol: 'SFTP' })), true);
    assert.equal(matcher({ ok: { eq: true } }).matches(event({ ok: true })), true);
    assert.equal(matcher({ ok: { eq: true } }).matches(event({ ok: 'yes' })), false);
  });

  test('sets: in / not_in on protocols and SFTPGo statuses (1 ok, 2 quota, 0 error)', () => {
    const proto = matcher({ protocol: { in: ['SFTP', 'FTP'] } });
    assert.equal(proto.matches(event({ protocol: 'SFTP' })), true);
    assert.equal(proto.matches(event({ protocol: 'DAV' })), false);
    const failed = matcher({ status: { in: [0, 2] } });
    assert.deepEqual([0, 1, 2].map((status) => failed.matches(event({ status }))), [true, false, true]);
    const notOk = matcher({ status: { not_in: [1] } });
    assert.deepEqual([0, 1, 2].map((status) => notOk.matches(event({ status }))), [true, false, true]);
  });

  test('account groups and role (a list matches when any item is in the set)', () => {
    const admins = matcher({ 'account.groups': { in: ['admins', 'ops'] }, 'account.role': { ne: 'guest' } });
    assert.equal(admins.matches(event({}, { name: 'a', groups: ['staff', 'ops'], role: 'editor' })), true);
    assert.equal(admins.matches(event({}, { name: 'b', groups: ['staff'], role: 'editor' })), false);
    assert.equal(admins.matches(event({}, { name: 'c', groups: ['admins'], role: 'guest' })), false);
    assert.equal(admins.matches(event({}, { name: 'd' })), false, 'no groups given');
    const outsiders = matcher({ 'account.groups': { not_in: ['admins'] } });
    assert.equal(outsiders.matches(event({}, { name: 'e', groups: ['staff', 'admins'] })), false);
    assert.equal(outsiders.matches(event({}, { name: 'f', groups: ['staff'] })), true);
    assert.deepEqual(event({}, { name: 'g', groups: ['x'], role: 'r' }).account.groups, ['x']);
  });

  test('not, all and any combine conditions; exists tests presence', () => {
    const f = matcher({
      any: [{ protocol: { eq: 'SFTP' } }, { all: [{ protocol: { eq: 'FTP' } }, { file_size: { lt: 100 } }] }],
      not: { path: { exists: true }, status: { eq: 0 } },
    });
    assert.equal(f.matches(event({ protocol: 'SFTP', status: 1, path: '/a' })), true);
    assert.equal(f.matches(event({ protocol: 'FTP', file_size: 10 })), true);
    assert.equal(f.matches(event({ protocol: 'FTP', file_size: 1000 })), false);
    assert.equal(f.matches(event({ protocol: 'SFTP', status: 0, path: '/a' })), false, 'negated');
    assert.equal(f.matches(event({ protocol: 'SFTP', status: 0 })), true, 'not(all of them): path is missing');
    assert.equal(matcher({ target_path: { exists: false } }).matches(event({})), true);
    assert.equal(matcher({ target_path: { exists: false } }).matches(event({ target_path: '/b' })), false);
  });

  test('conditions AND with the other filters, and a dotted path reaches any event field', () => {
    const f = compileFilters({ target_usernames: ['alice'], conditions: { 'account.peer.port': { gte: 1024 } } });
    assert.equal(f.matches(event({}, { name: 'alice', peer: { address: '10.0.0.1', port: 2222 } })), true);
    assert.equal(f.matches(event({}, { name: 'alice', peer: { address: '10.0.0.1', port: 22 } })), false);
    assert.equal(f.matches(event({}, { name: 'bob', peer: { address: '10.0.0.1', port: 2222 } })), false);
  });

  test('bad conditions are config problems naming the key: unknown operator, gt "abc", empty in, bad combinators', () => {
    const problemsOf = (conditions: unknown) => handlerProblems([{ type: 'webhook', name: 'w', url: 'https://e.example/x', conditions }]);
    const unknownOp = problemsOf({ file_size: { bigger: 5 } });
    assert.deepEqual(unknownOp.map((p) => p.key), ['handlers.0.conditions.file_size.bigger']);
    assert.match(unknownOp[0]?.message ?? '', /unknown operator "bigger" on "file_size"; use one of gt, gte, lt, lte, eq, ne, in, not_in, exists/);
    const notNumber = problemsOf({ file_size: { gt: 'abc' } });
    assert.deepEqual(notNumber.map((p) => p.key), ['handlers.0.conditions.file_size.gt']);
    assert.match(notNumber[0]?.message ?? '', /"gt" compares numbers; got "abc"/);
    const emptyIn = problemsOf({ protocol: { in: [] } });
    assert.deepEqual(emptyIn.map((p) => p.key), ['handlers.0.conditions.protocol.in']);
    assert.match(emptyIn[0]?.message ?? '', /non-empty list/);
    assert.deepEqual(
      problemsOf({ any: [], not: 5, status: 1, all: [{ x: { in: [{}] } }] }).map((p) => p.key).sort(),
      ['handlers.0.conditions.all.0.x.in.0', 'handlers.0.conditions.any', 'handlers.0.conditions.not', 'handlers.0.conditions.status'],
    );
    assert.deepEqual(problemsOf({ file_size: { gt: 1 }, protocol: { in: ['SFTP'] } }), []);
    // compileFilters (an embedder without the schema) refuses the same way, with the key.
    assert.throws(() => matcher({ file_size: { gt: 'abc' } }), (err: unknown) => err instanceof ConfigError && err.problems[0]?.key === 'handlers.0.conditions.file_size.gt');
  });
});
