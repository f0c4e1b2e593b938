// The one error catalogue: ERROR_CODES in src/errors.ts, docs/errors.md and
// the codes the source uses must agree. Each check is a function run on the
// real files, and once on a broken copy, so it is shown that it can fail.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import {
  AbortedError,
  BadRequestError,
  CallbacksUnavailableError,
  ERROR_CODES,
  ForbiddenError,
  InternalError,
  isErrorCode,
  isFrameworkErrorCode,
  RequestRefusedError,
  RouteNotFoundError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  type ErrorCode,
} from '../src/errors.js';
import { abortReason } from '../src/http/exchange.js';
import { errorReply } from '../src/server/error-reply.js';

const ROOT = resolve(import.meta.dirname, '..');
const CODE = /\b(?:HKW|FST)_ERR_[A-Z0-9_]*[A-Z0-9]\b/g;

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(ext))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The `| \`CODE\` | status | … |` rows of docs/errors.md. */
function docRows(markdown: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const match of markdown.matchAll(/^\| `((?:HKW|FST)_ERR_[A-Z0-9_]+)` \| (\d{3}) \|/gm)) {
    assert.ok(!rows.has(match[1] as string), `${match[1]} has two rows in docs/errors.md`);
    rows.set(match[1] as string, Number(match[2]));
  }
  return rows;
}

/** Problems between the table and the page: codes missing on either side, statuses that differ. */
function pageProblems(table: Readonly<Record<string, { status: number }>>, markdown: string): string[] {
  const rows = docRows(markdown);
  const problems: string[] = [];
  for (const [code, { status }] of Object.entries(table)) {
    const documented = rows.get(code);
    if (documented === undefined) problems.push(`${code} is in ERROR_CODES but not in docs/errors.md`);
    else if (documented !== status) problems.push(`${code} is ${status} in ERROR_CODES but ${documented} in docs/errors.md`);
  }
  for (const code of rows.keys()) if (!Object.hasOwn(table, code)) problems.push(`${code} is in docs/errors.md but not in ERROR_CODES`);
  return problems;
}

/** Codes a text uses that the table does not have, as `file: code`. */
function unknownCodes(files: ReadonlyMap<string, string>): string[] {
  const unknown: string[] = [];
  for (const [file, text] of files) {
    for (const [code] of text.matchAll(CODE)) if (!isErrorCode(code)) unknown.push(`${file}: ${code}`);
  }
  return unknown;
}

function read(files: readonly string[]): Map<string, string> {
  return new Map(files.map((file) => [relative(ROOT, file), readFileSync(file, 'utf8')]));
}

const page = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
const sources = read(filesUnder(join(ROOT, 'src'), '.ts'));

describe('the error catalogue', () => {
  test('docs/errors.md lists exactly the codes of ERROR_CODES, each with its status', () => {
    assert.ok(docRows(page).size > 40, 'the page has its rows');
    assert.deepEqual(pageProblems(ERROR_CODES, page), []);
  });

  test('the page check fails on a code missing from the page, an extra row, or a wrong status', () => {
    const withoutOne = page.replace(/^\| `HKW_ERR_CALLBACK_USED` .*\n/m, '');
    assert.deepEqual(pageProblems(ERROR_CODES, withoutOne), ['HKW_ERR_CALLBACK_USED is in ERROR_CODES but not in docs/errors.md']);
    const extra = `${page}| \`HKW_ERR_NOWHERE\` | 400 | x | y |\n`;
    assert.deepEqual(pageProblems(ERROR_CODES, extra), ['HKW_ERR_NOWHERE is in docs/errors.md but not in ERROR_CODES']);
    const wrong = page.replace('| `HKW_ERR_CALLBACK_USED` | 410 |', '| `HKW_ERR_CALLBACK_USED` | 404 |');
    assert.deepEqual(pageProblems(ERROR_CODES, wrong), ['HKW_ERR_CALLBACK_USED is 410 in ERROR_CODES but 404 in docs/errors.md']);
  });

  test('every HKW_ERR_/FST_ERR_ code written anywhere in src/ is in ERROR_CODES', () => {
    assert.ok(sources.size > 100, 'the sources were read');
    assert.deepEqual(unknownCodes(sources), []);
  });

  test('the source check fails on a code the table does not have', () => {
    const stray = new Map([['src/server/stray.ts', "reply.code(400).send({ code: 'HKW_ERR_MADE_UP_HERE', message: 'x' });\nthrow Object.assign(new Error(), { code: 'FST_ERR_SOMETHING' });"]]);
    assert.deepEqual(unknownCodes(stray), ['src/server/stray.ts: HKW_ERR_MADE_UP_HERE', 'src/server/stray.ts: FST_ERR_SOMETHING']);
  });

  test('the docs and README name no code outside the catalogue', () => {
    const docs = read([...filesUnder(join(ROOT, 'docs'), '.md'), join(ROOT, 'README.md')]);
    assert.ok(docs.size > 10);
    assert.deepEqual(unknownCodes(docs), []);
  });

  test('every error class of src/ takes its code and status from the table (extends CataloguedError)', () => {
    const direct = [...sources].flatMap(([file, text]) =>
      [...text.matchAll(/class (\w+) extends HookworkError\b/g)].map((m) => `${file}: ${m[1]}`),
    );
    assert.deepEqual(direct, [join('src', 'errors.ts') + ': CataloguedError']);
  });

  test('every HKW_ERR_ code in ERROR_CODES is used by the source (no dead entries)', () => {
    const table = sources.get(join('src', 'errors.ts')) as string;
    const tableEnd = table.indexOf('export type ErrorCode');
    assert.ok(tableEnd > 0);
    const uses = [...sources].map(([file, text]) => (file === join('src', 'errors.ts') ? text.slice(tableEnd) : text)).join('\n');
    const unused = Object.keys(ERROR_CODES).filter((code) => code.startsWith('HKW_') && !uses.includes(`'${code}'`));
    assert.deepEqual(unused, []);
  });

  test("every FST_ERR_ code in ERROR_CODES is one of fastify's, with fastify's status", () => {
    const fastifyErrors = createRequire(import.meta.url)('fastify/lib/errors.js') as Record<string, new () => { code: string; statusCode: number }>;
    const framework = Object.entries(ERROR_CODES).filter(([code]) => code.startsWith('FST_'));
    assert.ok(framework.length >= 5);
    for (const [code, { status }] of framework) {
      const FastifyError = fastifyErrors[code];
      assert.ok(FastifyError !== undefined, `fastify has no error ${code}`);
      assert.equal(new FastifyError().statusCode, status, code);
    }
  });

  test('each code keeps the status callers saw before the catalogue', () => {
    const statusOf = (code: ErrorCode): number => ERROR_CODES[code].status;
    assert.equal(statusOf('HKW_ERR_UNAUTHENTICATED'), 401);
    assert.equal(statusOf('HKW_ERR_FORBIDDEN'), 403);
    assert.equal(statusOf('HKW_ERR_NOT_FOUND'), 404);
    assert.equal(statusOf('HKW_ERR_UNSUPPORTED_MEDIA_TYPE'), 415);
    assert.equal(statusOf('HKW_ERR_INTERNAL'), 500);
    assert.equal(statusOf('FST_ERR_CTP_BODY_TOO_LARGE'), 413);
    assert.equal(statusOf('FST_ERR_MAX_PARAM_LENGTH'), 414);
    assert.equal(statusOf('HKW_ERR_CALLBACK_UNKNOWN'), 404);
    assert.equal(statusOf('HKW_ERR_CALLBACK_EXPIRED'), 410);
    assert.ok(Object.isFrozen(ERROR_CODES));
  });

  test('the gateway errors that were built by hand are classes with their code and status', () => {
    const cases: Array<[Error & { code: string; statusCode: number; message: string }, string, number, RegExp]> = [
      [new RouteNotFoundError('GET', '/v1/nope'), 'HKW_ERR_NOT_FOUND', 404, /^No route GET \/v1\/nope\.$/],
      [new RouteNotFoundError('GET', '/plugins/x/y', 'plugin "x" serves no routes.'), 'HKW_ERR_NOT_FOUND', 404, /^No route GET \/plugins\/x\/y: plugin "x" serves no routes\.$/],
      [new CallbacksUnavailableError(), 'HKW_ERR_NOT_FOUND', 404, /Callbacks are not installed/],
      [new UnauthenticatedError('missing'), 'HKW_ERR_UNAUTHENTICATED', 401, /needs "Authorization: Bearer <token>"/],
      [new UnauthenticatedError('unknown'), 'HKW_ERR_UNAUTHENTICATED', 401, /not known/],
      [new ForbiddenError('ci', 'viewer', 'operator'), 'HKW_ERR_FORBIDDEN', 403, /"ci" has role "viewer"; this endpoint needs "operator"/],
      [new UnsupportedMediaTypeError('POST', '/v1/events', 'text/plain'), 'HKW_ERR_UNSUPPORTED_MEDIA_TYPE', 415, /got "text\/plain"/],
      [new InternalError(), 'HKW_ERR_INTERNAL', 500, /see the gateway log/],
      [new RequestRefusedError('FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large'), 'FST_ERR_CTP_BODY_TOO_LARGE', 413, /too large/],
      [new BadRequestError('cut short'), 'HKW_ERR_BAD_REQUEST', 400, /cut short/],
    ];
    for (const [error, code, status, message] of cases) {
      assert.equal(error.code, code);
      assert.equal(error.statusCode, status, code);
      assert.match(error.message, message);
    }
  });

  test('one AbortedError: code HKW_ERR_ABORTED, named AbortError, what an abort without an Error reason gives', () => {
    const controller = new AbortController();
    controller.abort('stop');
    const error = abortReason(controller.signal);
    assert.ok(error instanceof AbortedError);
    assert.equal((error as AbortedError).code, 'HKW_ERR_ABORTED');
    assert.equal(error.name, 'AbortError');
    assert.equal(error.message, 'The request was aborted.');
  });
});

describe('errorReply: what the gateway answers for a thrown error', () => {
  test("fastify's catalogued refusals keep their code, status and message", () => {
    const raw = Object.assign(new Error('Unsupported Media Type: application/xml'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 });
    const { error, unexpected } = errorReply(raw);
    assert.equal(unexpected, false);
    assert.deepEqual([error.statusCode, error.toJSON()], [415, { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', message: 'Unsupported Media Type: application/xml' }]);
    assert.ok(isFrameworkErrorCode('FST_ERR_BAD_URL'));
    assert.ok(!isFrameworkErrorCode('HKW_ERR_BAD_URL'));
  });

  test('another 4xx keeps its status; a code outside the catalogue becomes HKW_ERR_BAD_REQUEST', () => {
    const raw = Object.assign(new Error('gone'), { code: 'E_PLUGIN_OWN', statusCode: 404 });
    const { error, unexpected } = errorReply(raw);
    assert.equal(unexpected, false);
    assert.deepEqual([error.statusCode, error.toJSON()], [404, { code: 'HKW_ERR_BAD_REQUEST', message: 'gone' }]);
    const noCode = errorReply(Object.assign(new Error('aborted'), { statusCode: 400 })).error;
    assert.deepEqual([noCode.statusCode, noCode.code], [400, 'HKW_ERR_BAD_REQUEST']);
  });

  test('anything else is a generic 500 HKW_ERR_INTERNAL, flagged for the log; HookworkErrors answer as they are', () => {
    const { error, unexpected } = errorReply(new TypeError('secret detail'));
    assert.equal(unexpected, true);
    assert.deepEqual([error.statusCode, error.toJSON()], [500, { code: 'HKW_ERR_INTERNAL', message: 'Internal error; see the gateway log.' }]);
    const own = new ForbiddenError('a', 'viewer', 'superuser');
    assert.equal(errorReply(own).error, own);
  });
});
