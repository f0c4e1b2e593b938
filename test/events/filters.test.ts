import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { buildEnvelope, type AccountInput, type HookworkEvent } from '../../src/events/envelope.js';
import { extensionHandlerSchema } from '../../src/extensions/config-schema.js';
import { filtersSchema } from '../../src/handlers/config-schema.js';
import { compileFilters, type FiltersConfig } from '../../src/events/filters.js';

interface Spec {
  id?: string;
  groups?: string[];
  account?: AccountInput;
  component?: string;
  data?: Record<string, unknown>;
}

function event(spec: Spec = {}): HookworkEvent {
  return buildEnvelope({
    id: spec.id ?? '100',
    name: 'test',
    groups: spec.groups ?? [],
    data: Object.freeze({ ...(spec.data ?? {}) }),
    input: {
      ...(spec.account === undefined ? {} : { account: spec.account }),
      ...(spec.component === undefined ? {} : { component: { uuid: spec.component } }),
    },
    server: { uuid: 's', name: 'server' },
    message: undefined,
  });
}

/** Validates through the schema (as the config loader does), then compiles. */
function compile(config: Record<string, unknown>) {
  return compileFilters(filtersSchema.parse(config));
}

describe('filters', () => {
  test('no rules: follows every id and matches everything', () => {
    const filter = compile({});
    assert.equal(filter.eventIds, null);
    assert.equal(filter.matches(event()), true);
  });

  test('target_events: positive ids go to the index, the rest do not match', () => {
    const filter = compile({ target_events: ['100', 200] });
    assert.deepEqual([...(filter.eventIds ?? [])].sort(), ['100', '200']);
    assert.equal(filter.matches(event({ id: '100' })), true);
    assert.equal(filter.matches(event({ id: '200' })), true);
    assert.equal(filter.matches(event({ id: '300' })), false);
  });

  test('target_events: "!id" alone follows every other id', () => {
    const filter = compile({ target_events: ['!100'] });
    assert.equal(filter.eventIds, null);
    assert.equal(filter.matches(event({ id: '100' })), false);
    assert.equal(filter.matches(event({ id: '101' })), true);
  });

  test('target_events: exclusions remove ids from the positive list; INI comma form', () => {
    const filter = compile({ target_events: '100, 200, !200' });
    assert.deepEqual(filter.eventIds, ['100']);
    assert.equal(filter.matches(event({ id: '200' })), false);
  });

  test('target_groups: any group of the event matches', () => {
    const filter = compile({ target_groups: ['failure', 'audit'] });
    assert.equal(filter.matches(event({ groups: ['x', 'audit'] })), true);
    assert.equal(filter.matches(event({ groups: ['x'] })), false);
    assert.equal(filter.matches(event()), false);
  });

  test('target_usernames: case-insensitive, ORed', () => {
    const filter = compile({ target_usernames: ['Alice', 'bob'] });
    assert.equal(filter.matches(event({ account: { name: 'alice' } })), true);
    assert.equal(filter.matches(event({ account: { name: 'BOB' } })), true);
    assert.equal(filter.matches(event({ account: { name: 'carol' } })), false);
  });

  test('target_components: by component uuid', () => {
    const filter = compile({ target_components: ['AAAA-1'] });
    assert.equal(filter.matches(event({ component: 'aaaa-1' })), true);
    assert.equal(filter.matches(event({ component: 'bbbb-2' })), false);
  });

  test('target_source_addresses: IPs and CIDRs, IPv4, IPv6 and IPv4-mapped', () => {
    const filter = compile({ target_source_addresses: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'] });
    const from = (address: string) => event({ account: { name: 'u', peer: { address } } });
    assert.equal(filter.matches(from('10.1.2.3')), true);
    assert.equal(filter.matches(from('::ffff:10.9.9.9')), true);
    assert.equal(filter.matches(from('192.168.1.7')), true);
    assert.equal(filter.matches(from('192.168.1.8')), false);
    assert.equal(filter.matches(from('2001:db8::1')), true);
    assert.equal(filter.matches(from('2001:db9::1')), false);
    assert.equal(filter.matches(from('')), false);
    assert.equal(filter.matches(from('not-an-ip')), false);
  });

  test('data_filters: glob by default, case-insensitive, basename for patterns without "/"', () => {
    const filter = compile({ data_filters: [['path', '*.TXT']] });
    assert.equal(filter.matches(event({ data: { path: '/home/a/report.txt' } })), true);
    assert.equal(filter.matches(event({ data: { path: '/home/a/report.csv' } })), false);
    assert.equal(filter.matches(event({ data: {} })), false, 'a missing member never matches');
  });

  test('data_filters: a glob with "/" matches the whole path, with **, in any case, dot files included', () => {
    const matches = (expression: string, path: string): boolean =>
      compile({ data_filters: [['path', expression]] }).matches(event({ data: { path } }));
    assert.equal(matches('/in/**/*.csv', '/in/2024/05/a.csv'), true, '** spans folders');
    assert.equal(matches('/in/**/*.csv', '/in/a.csv'), true, '** may be no folder at all');
    assert.equal(matches('/in/**/*.csv', '/out/2024/a.csv'), false, 'another root does not match');
    assert.equal(matches('/in/*.csv', '/in/2024/a.csv'), false, '* stays within one segment');
    assert.equal(matches('/IN/**/*.CSV', '/in/x/a.csv'), true, 'case-insensitive');
    assert.equal(matches('/in/**/*.csv', '/in/.hidden/.a.csv'), true, 'dot files and folders match');
    assert.equal(matches('!/in/**', '/in/x/a.csv'), false, 'negated');
    assert.equal(matches('!/in/**', '/out/a.csv'), true);
  });

  test('data_filters: globs with and without "/" mix in one expression, each matched its own way', () => {
    const filter = compile({ data_filters: [['path', '*.txt|/in/**/*.csv']] });
    assert.equal(filter.matches(event({ data: { path: '/any/where/notes.txt' } })), true, 'the name glob matches the base name');
    assert.equal(filter.matches(event({ data: { path: '/in/2024/a.csv' } })), true, 'the path glob matches the whole path');
    assert.equal(filter.matches(event({ data: { path: '/out/2024/a.csv' } })), false);
    assert.equal(filter.matches(event({ data: { path: 'a.csv' } })), false, 'a bare name does not match a path glob');
  });

  test('data_filters: "|" alternatives, "!" negation, m/regex/, object and INI string forms', () => {
    const alternatives = compile({ data_filters: [{ member: 'path', expression: '*.txt|*.csv' }] });
    assert.equal(alternatives.matches(event({ data: { path: 'a.csv' } })), true);
    assert.equal(alternatives.matches(event({ data: { path: 'a.pdf' } })), false);

    const negated = compile({ data_filters: ['path, !*.tmp|*.part'] });
    assert.equal(negated.matches(event({ data: { path: 'a.tmp' } })), false);
    assert.equal(negated.matches(event({ data: { path: 'a.part' } })), false);
    assert.equal(negated.matches(event({ data: { path: 'a.txt' } })), true);

    const regex = compile({ data_filters: [['path', 'm/^/in/[a-z]+\\.(txt|csv)$/']] });
    assert.equal(regex.matches(event({ data: { path: '/in/Report.CSV' } })), true, 'regexes are case-insensitive too');
    assert.equal(regex.matches(event({ data: { path: '/in/sub/report.csv' } })), false);

    const negatedRegex = compile({ data_filters: [['path', '!m/\\.tmp$/']] });
    assert.equal(negatedRegex.matches(event({ data: { path: 'x.tmp' } })), false);
    assert.equal(negatedRegex.matches(event({ data: { path: 'x.txt' } })), true);
  });

  test('data_filters: numbers are matched as text; dotted members reach any event field', () => {
    const filter = compile({ data_filters: [['size', '1??'], ['account.name', 'adm*']] });
    assert.equal(filter.matches(event({ data: { size: 123 }, account: { name: 'admin' } })), true);
    assert.equal(filter.matches(event({ data: { size: 1234 }, account: { name: 'admin' } })), false);
    assert.equal(filter.matches(event({ data: { size: 123 }, account: { name: 'guest' } })), false);
  });

  test('rules are ANDed, values inside one rule ORed', () => {
    const filter = compile({
      target_events: ['100', '200'],
      target_usernames: ['alice', 'bob'],
      data_filters: [['path', '*.txt']],
    });
    const ok = event({ id: '200', account: { name: 'bob' }, data: { path: 'x.txt' } });
    assert.equal(filter.matches(ok), true);
    assert.equal(filter.matches(event({ id: '300', account: { name: 'bob' }, data: { path: 'x.txt' } })), false);
    assert.equal(filter.matches(event({ id: '200', account: { name: 'eve' }, data: { path: 'x.txt' } })), false);
    assert.equal(filter.matches(event({ id: '200', account: { name: 'bob' }, data: { path: 'x.csv' } })), false);
  });

  test('bad input is a config problem with its key: bad regex, bad CIDR, bad glob, missing "/"', () => {
    const parsed = extensionHandlerSchema.safeParse({
      type: 'extension',
      name: 'x',
      entry_point: 'a.ts#A',
      target_source_addresses: ['10.0.0.0/99', '1.2.3.4'],
      data_filters: [['path', 'm/[unclosed/'], ['path', 'm/no-end'], ['path', 'a||b'], 'no-comma-here'],
    });
    assert.equal(parsed.success, false);
    const issues = parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];
    assert.ok(issues.some((i) => i.startsWith('target_source_addresses.0:') && i.includes('CIDR')), issues.join('\n'));
    assert.ok(issues.some((i) => i.startsWith('data_filters.0:') && i.includes('bad regular expression')), issues.join('\n'));
    assert.ok(issues.some((i) => i.startsWith('data_filters.1:') && i.includes('must end with "/"')), issues.join('\n'));
    assert.ok(issues.some((i) => i.startsWith('data_filters.2:') && i.includes('empty alternative')), issues.join('\n'));
    assert.ok(issues.some((i) => i.startsWith('data_filters.3:')), issues.join('\n'));
  });

  test('compileFilters on unvalidated input throws ConfigError listing every problem', () => {
    const config: FiltersConfig = {
      target_events: ['!'],
      target_source_addresses: ['300.1.1.1'],
      data_filters: [['path', 'm/(/']],
    };
    assert.throws(
      () => compileFilters(config, { where: 'handlers.3' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.problems.map((p) => p.key),
          ['handlers.3.target_events', 'handlers.3.target_source_addresses', 'handlers.3.data_filters.0'],
        );
        return true;
      },
    );
  });

  test('every handler type gets the filter fields through handlerBaseShape', () => {
    const parsed = extensionHandlerSchema.parse({
      type: 'extension',
      name: 'x',
      entry_point: 'a.ts#A',
      target_groups: 'failure, audit',
    });
    assert.deepEqual(parsed.target_groups, ['failure', 'audit']);
  });
});
