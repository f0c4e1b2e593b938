// Handler filters (SFTPPlus's target_* options and data_filters): which
// events reach a handler. Rules are ANDed; the values inside one rule are
// ORed. Everything is compiled once (sets, globs, regexes, address ranges),
// so `matches` does no parsing and allocates nothing beyond what a source
// address check needs. The positive event ids are handed to HandlerIndex so
// routing never looks at handlers that follow other ids.

import ipaddr from 'ipaddr.js';
import picomatch from 'picomatch';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { compileConditions, conditionProblems } from './conditions.js';
import { MISSING, lookup } from './context.js';
import type { HookworkEvent } from './envelope.js';

/** A list written as YAML/JSON list or as one comma-separated string (the INI form). */
function listOf<T extends z.ZodType<string, string>>(item: T) {
  return z
    .union([z.string(), z.array(z.union([z.string(), z.number().int()]))])
    .transform((value): string[] =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part !== '')
        : value.map((part) => String(part).trim()),
    )
    .pipe(z.array(item));
}

/** Why an expression is unusable, or undefined when it compiles. */
export function dataExpressionProblem(expression: string): string | undefined {
  try {
    compileExpression(expression);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Why an address or CIDR range is unusable, or undefined when it parses. */
export function sourceAddressProblem(value: string): string | undefined {
  if (ipaddr.isValid(value) || ipaddr.isValidCIDR(value)) return undefined;
  return `"${value}" is not an IP address or CIDR range (examples: 10.0.0.5, 192.168.0.0/16, 2001:db8::/32)`;
}

const dataFilterPair = z
  .union([
    z.tuple([z.string().min(1), z.string()]),
    z.strictObject({ member: z.string().min(1), expression: z.string() }),
    // The INI form: "member, expression" in one string.
    z.string().regex(/^[^,]+,/, 'write a data filter as "member, expression"'),
  ])
  .transform((value): DataFilter => {
    if (typeof value === 'string') {
      const comma = value.indexOf(',');
      return { member: value.slice(0, comma).trim(), expression: value.slice(comma + 1).trim() };
    }
    if (Array.isArray(value)) return { member: value[0], expression: value[1] };
    return value;
  })
  .superRefine((filter, ctx) => {
    const problem = dataExpressionProblem(filter.expression);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `data filter on "${filter.member}": ${problem}` });
  });

/**
 * The filter fields, to spread into every handler schema. All optional: a
 * handler without filters follows every event (or its extension's TARGET_EVENTS).
 */
export const filtersShape = {
  /** Event ids; `!id` excludes one. Only exclusions: every other id. */
  target_events: listOf(z.string().min(1)).optional(),
  /** Catalogue groups (e.g. `failure`); any one matches. */
  target_groups: listOf(z.string().min(1)).optional(),
  /** Account names, case-insensitive; any one matches. */
  target_usernames: listOf(z.string().min(1)).optional(),
  /** Component uuids; any one matches. */
  target_components: listOf(z.string().min(1)).optional(),
  /** Peer addresses: IPs or CIDR ranges, IPv4 or IPv6. */
  target_source_addresses: listOf(
    z.string().superRefine((value, ctx) => {
      const problem = sourceAddressProblem(value.trim());
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  ).optional(),
  /**
   * `[member, expression]` pairs (or `{ member, expression }`, or `"member, expression"`);
   * every pair must match. One string is one pair (the INI form; repeat `data_filters[]` for more).
   */
  data_filters: z
    .union([z.string(), z.array(z.unknown())])
    .transform((value) => (typeof value === 'string' ? [value] : value))
    .pipe(z.array(dataFilterPair))
    .optional(),
  /**
   * Comparisons on event fields, SFTPGo Event Manager's conditions:
   * `{ file_size: { gt: 1048576 }, protocol: { in: [SFTP, FTP] }, not: {…}, any: […] }`.
   * Every key must hold. See docs/filters.md#conditions.
   */
  conditions: z
    .unknown()
    .superRefine((value, ctx) => {
      for (const problem of conditionProblems(value)) ctx.addIssue({ code: 'custom', message: problem.message, path: [...problem.path] });
    })
    .optional(),
};

export interface DataFilter {
  /** A data member (`path`) or a dotted event path (`account.peer.address`). */
  member: string;
  /** A glob (default), `m/regex/`, `a|b` alternatives, `!` to negate. */
  expression: string;
}

/** The filter fields of a handler config, as validated (or as written: compileFilters normalises). */
export interface FiltersConfig {
  target_events?: ReadonlyArray<string | number> | string | undefined;
  target_groups?: readonly string[] | string | undefined;
  target_usernames?: readonly string[] | string | undefined;
  target_components?: readonly string[] | string | undefined;
  target_source_addresses?: readonly string[] | string | undefined;
  data_filters?: ReadonlyArray<DataFilter | readonly [string, string] | string> | undefined;
  /** Conditions as written (validated by the schema; compileFilters checks again). */
  conditions?: unknown;
}

export interface EventFilter {
  /** The ids this filter follows (for HandlerIndex), or null when it follows every id. */
  readonly eventIds: readonly string[] | null;
  matches(event: HookworkEvent): boolean;
}

export interface CompileFiltersOptions {
  /** Where the filters are in the config, for problem keys (e.g. `handlers.2`). */
  where?: string;
}

type Predicate = (event: HookworkEvent) => boolean;

const REGEX_FORM = /^m\/(.*)\/([imsu]*)$/s;

/** Compiles one data-filter expression to a string predicate (throws with a readable message). */
export function compileExpression(expression: string): (value: string) => boolean {
  let text = expression.trim();
  let negate = false;
  if (text.startsWith('!')) {
    negate = true;
    text = text.slice(1).trim();
  }
  let test: (value: string) => boolean;
  const regexForm = REGEX_FORM.exec(text);
  if (regexForm !== null) {
    const source = regexForm[1] as string;
    const flags = regexForm[2] as string;
    let regex: RegExp;
    try {
      regex = new RegExp(source, flags.includes('i') ? flags : `${flags}i`);
    } catch (err) {
      throw new Error(`bad regular expression ${JSON.stringify(text)}: ${(err as Error).message}`);
    }
    test = (value) => regex.test(value);
  } else {
    if (text.startsWith('m/')) throw new Error(`regular expression ${JSON.stringify(text)} must end with "/" (write m/regex/)`);
    const globs = text.split('|').map((g) => g.trim());
    if (globs.some((g) => g === '')) throw new Error(`empty alternative in ${JSON.stringify(text)} (write a|b, not a||b)`);
    test = compileGlobs(globs, text);
  }
  return negate ? (value) => !test(value) : test;
}

/**
 * A glob without `/` matches the last path segment (picomatch's basename
 * mode); one with `/` matches the whole path. picomatch applies basename mode
 * to a whole list at once and then never matches the globs with slashes, so
 * the two kinds are compiled apart.
 */
function compileGlobs(globs: readonly string[], text: string): (value: string) => boolean {
  const names = globs.filter((g) => !g.includes('/'));
  const paths = globs.filter((g) => g.includes('/'));
  try {
    const byName = names.length > 0 ? picomatch(names, { nocase: true, dot: true, basename: true }) : undefined;
    const byPath = paths.length > 0 ? picomatch(paths, { nocase: true, dot: true }) : undefined;
    if (byName === undefined) return byPath as (value: string) => boolean;
    if (byPath === undefined) return byName;
    return (value) => byName(value) || byPath(value);
  } catch (err) {
    throw new Error(`bad glob ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

function toList(value: ReadonlyArray<string | number> | string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
  }
  return value.map((part) => String(part).trim());
}

function toDataFilter(value: DataFilter | readonly [string, string] | string): DataFilter {
  if (typeof value === 'string') {
    const comma = value.indexOf(',');
    if (comma === -1) return { member: value.trim(), expression: '' };
    return { member: value.slice(0, comma).trim(), expression: value.slice(comma + 1).trim() };
  }
  if (Array.isArray(value)) return { member: String(value[0]), expression: String(value[1]) };
  return value as DataFilter;
}

function stringValue(value: unknown): string | undefined {
  if (value === MISSING || value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

function compileDataFilter(filter: DataFilter): Predicate {
  const test = compileExpression(filter.expression);
  // A bare name is a data member (SFTPPlus's form); a dotted path may also
  // name any event field (`account.name`). Paths are built here, not per call.
  const dataPath = `data.${filter.member}`;
  const eventPath = filter.member;
  return (event) => {
    let value = lookup(event, dataPath);
    if (value === MISSING) value = lookup(event, eventPath);
    const text = stringValue(value);
    // A missing member never matches, negated or not: filters select on what is there.
    return text !== undefined && test(text);
  };
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function compileAddresses(values: readonly string[], problems: string[]): Predicate | undefined {
  const ranges: Range[] = [];
  for (const raw of values) {
    const value = raw.trim();
    const problem = sourceAddressProblem(value);
    if (problem !== undefined) {
      problems.push(problem);
      continue;
    }
    if (ipaddr.isValidCIDR(value)) {
      const [address, bits] = ipaddr.parseCIDR(value);
      ranges.push(normaliseRange(address, bits));
    } else {
      const address = ipaddr.parse(value);
      ranges.push(normaliseRange(address, address.kind() === 'ipv4' ? 32 : 128));
    }
  }
  if (ranges.length === 0) return undefined;
  return (event) => {
    const text = event.account.peer.address;
    if (text === '' || !ipaddr.isValid(text)) return false;
    const address = ipaddr.process(text); // unwraps IPv4-mapped IPv6 (::ffff:10.0.0.1)
    const kind = address.kind();
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i] as Range;
      if (range[0].kind() === kind && address.match(range)) return true;
    }
    return false;
  };
}

/** An IPv4-mapped IPv6 range becomes the IPv4 range it stands for, so it matches processed addresses. */
function normaliseRange(address: ipaddr.IPv4 | ipaddr.IPv6, bits: number): Range {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [address, bits];
}

/**
 * Compiles a handler's filter fields. Throws ConfigError listing every bad
 * value (a bad regex, a bad CIDR) with its key.
 */
export function compileFilters(config: FiltersConfig, options: CompileFiltersOptions = {}): EventFilter {
  const prefix = options.where === undefined || options.where === '' ? '' : `${options.where}.`;
  const problems: ConfigProblem[] = [];
  const predicates: Predicate[] = [];

  let eventIds: readonly string[] | null = null;
  const ids = toList(config.target_events);
  if (ids !== undefined && ids.length > 0) {
    const include = new Set<string>();
    const exclude = new Set<string>();
    for (const id of ids) {
      if (id.startsWith('!')) {
        const excluded = id.slice(1).trim();
        if (excluded === '') problems.push({ key: `${prefix}target_events`, message: '"!" must be followed by an event id' });
        else exclude.add(excluded);
      } else include.add(id);
    }
    if (include.size > 0) {
      for (const id of exclude) include.delete(id);
      eventIds = Object.freeze([...include]);
      // The index already routes by id; this keeps `matches` right on its own.
      predicates.push((event) => include.has(event.id));
    } else if (exclude.size > 0) {
      predicates.push((event) => !exclude.has(event.id));
    }
  }

  const groups = toList(config.target_groups);
  if (groups !== undefined && groups.length > 0) {
    const wanted = new Set(groups);
    predicates.push((event) => {
      const list = event.groups;
      for (let i = 0; i < list.length; i++) if (wanted.has(list[i] as string)) return true;
      return false;
    });
  }

  const usernames = toList(config.target_usernames);
  if (usernames !== undefined && usernames.length > 0) {
    const wanted = new Set(usernames.map((name) => name.toLowerCase()));
    predicates.push((event) => {
      const name = event.account.name;
      return wanted.has(name) || wanted.has(name.toLowerCase());
    });
  }

  const components = toList(config.target_components);
  if (components !== undefined && components.length > 0) {
    const wanted = new Set(components.map((uuid) => uuid.toLowerCase()));
    predicates.push((event) => {
      const uuid = event.component.uuid;
      return wanted.has(uuid) || wanted.has(uuid.toLowerCase());
    });
  }

  const addresses = toList(config.target_source_addresses);
  if (addresses !== undefined && addresses.length > 0) {
    const addressProblems: string[] = [];
    const predicate = compileAddresses(addresses, addressProblems);
    for (const message of addressProblems) problems.push({ key: `${prefix}target_source_addresses`, message });
    if (predicate !== undefined) predicates.push(predicate);
  }

  const dataFilters = config.data_filters ?? [];
  dataFilters.forEach((raw, index) => {
    const filter = toDataFilter(raw);
    const key = `${prefix}data_filters.${index}`;
    if (filter.member === '') {
      problems.push({ key, message: 'a data filter needs a member name (write "member, expression")' });
      return;
    }
    try {
      predicates.push(compileDataFilter(filter));
    } catch (err) {
      problems.push({ key, message: `data filter on "${filter.member}": ${(err as Error).message}` });
    }
  });

  if (config.conditions !== undefined) {
    const conditionIssues = conditionProblems(config.conditions);
    for (const p of conditionIssues) problems.push({ key: [`${prefix}conditions`, ...p.path].join('.'), message: p.message });
    // Last: the cheaper rules above reject most events before a comparison runs.
    if (conditionIssues.length === 0) predicates.push(compileConditions(config.conditions));
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ eventIds, matches: combine(predicates) });
}

function combine(predicates: readonly Predicate[]): Predicate {
  switch (predicates.length) {
    case 0:
      return () => true;
    case 1:
      return predicates[0] as Predicate;
    case 2: {
      const [a, b] = predicates as [Predicate, Predicate];
      return (event) => a(event) && b(event);
    }
    default:
      return (event) => {
        for (let i = 0; i < predicates.length; i++) if (!(predicates[i] as Predicate)(event)) return false;
        return true;
      };
  }
}
