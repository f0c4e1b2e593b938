// The extension protocol (docs/extension-protocol.md), checked on the wire:
// a table of request frames and the answer frames a runtime must give,
// run against every runtime in RUNTIMES. The table names the handler's
// behaviour by account name (fixtures/conformance/); a runtime in another
// language plugs in with its own command and its own copy of that handler.

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { encodeFrame, encodeFrames, FrameDecoder, PROTOCOL_VERSION, requestText, type ProcessRole } from '../../src/extensions/protocol.js';
import { PythonExtensions } from '../../src/extensions/python.js';
import { NODE_OUT_OF_MEMORY_LINE, NodeProcesses } from '../../src/extensions/node-processes.js';
import type { ProcessCommand } from '../../src/extensions/protocol-process.js';
import { silentLogger } from '../../src/logger.js';

const FOLDER = fileURLToPath(new URL('./fixtures/conformance/', import.meta.url));

/** A runtime under test: how to start it, how its `module` field names the conformance handler, the roles it serves. */
interface RuntimeUnderTest {
  readonly name: string;
  command(role: ProcessRole, memoryLimitMb?: number): ProcessCommand;
  readonly module: string;
  readonly roles: readonly ProcessRole[];
  /** How it reports running out of memory: exit code 3, or (Node: V8 aborts) a stderr line. */
  readonly outOfMemory: { readonly code: 3 } | { readonly stderr: RegExp };
}

const RUNTIMES: readonly RuntimeUnderTest[] = [
  {
    name: 'python',
    command: (role, memoryLimitMb) =>
      new PythonExtensions({
        folder: FOLDER,
        poolSize: 1,
        logger: silentLogger(),
        ...(memoryLimitMb === undefined ? {} : { memoryLimitMb }),
      }).command(role),
    module: 'conformance_handler',
    roles: ['main', 'worker'],
    outOfMemory: { code: 3 },
  },
  {
    // Worker role only: a JavaScript handler's main side stays in the engine's process.
    name: 'node',
    command: (_role, memoryLimitMb) =>
      new NodeProcesses({ folder: FOLDER, poolSize: 1, logger: silentLogger(), ...(memoryLimitMb === undefined ? {} : { memoryLimitMb }) }).command({
        readPaths: [],
        writePaths: [],
      }),
    module: 'js-conformance-handler.mjs',
    roles: ['worker'],
    outOfMemory: { stderr: NODE_OUT_OF_MEMORY_LINE },
  },
];

/** Matches when every key of `expected` matches (RegExp for texts, `ANY` for presence), deeply. */
const ANY = Symbol('any');
function assertMatches(actual: unknown, expected: unknown, path = 'frame'): void {
  if (expected === ANY) {
    assert.notEqual(actual, undefined, `${path} is missing`);
    return;
  }
  if (expected instanceof RegExp) {
    assert.match(String(actual), expected, path);
    return;
  }
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} should be an object: ${JSON.stringify(actual)}`);
    for (const [key, value] of Object.entries(expected)) assertMatches((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    return;
  }
  assert.deepEqual(actual, expected, path);
}

/** One conversation with a fresh runtime process. */
class Conversation {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #decoder = new FrameDecoder();
  readonly #frames: unknown[] = [];
  #waiting: (() => void) | undefined;
  readonly exited: Promise<number | null>;
  #nextId = 1;

  constructor(command: ProcessCommand) {
    this.child = spawn(command.file, [...command.args], { env: { ...process.env, ...command.env }, cwd: command.cwd, stdio: 'pipe' });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.#frames.push(...this.#decoder.push(chunk));
      this.#waiting?.();
    });
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  async next(): Promise<Record<string, unknown>> {
    while (this.#frames.length === 0) {
      const gone = await Promise.race([new Promise<false>((resolve) => (this.#waiting = () => resolve(false))), this.exited.then(() => true)]);
      if (gone && this.#frames.length === 0) throw new Error('the runtime exited without answering');
    }
    return this.#frames.shift() as Record<string, unknown>;
  }

  /** Sends a request (an id is added) and returns the answer. */
  async ask(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    this.child.stdin.write(encodeFrame({ ...request, id }));
    const answer = await this.next();
    assert.equal(answer['id'], id, `the answer to ${JSON.stringify(request)} carries its id`);
    return answer;
  }

  end(): void {
    this.child.kill('SIGKILL');
  }
}

function event(account: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '100',
    uuid: 'event-uuid',
    name: 'test',
    groups: [],
    message: 'm',
    account: { uuid: 'a-uuid', name: account, peer: { address: '127.0.0.1', port: 1, protocol: 'tcp', family: 'IPv4' } },
    component: { uuid: 'c', name: 'comp', type: 'test' },
    server: { uuid: 's', name: 'srv' },
    timestamp: { timestamp: 1510742418.234, iso_8601: '2017-11-15T10:40:18Z' },
    data: { path: '/in/a.csv', size: 3 },
    ...extra,
  };
}

/** A row: requests in order, each with the answer it must get. `{module}` stands for the runtime's module name. */
interface Row {
  readonly title: string;
  readonly role: ProcessRole;
  readonly exchange: ReadonlyArray<readonly [Record<string, unknown>, unknown]>;
}

const INIT = { type: 'init', module: '{module}', class: 'ConformanceHandler' };
const START = { type: 'start', configuration: 'conf', name: 'conformance', uuid: 'h-uuid' };
const ERROR = (type: string, message: RegExp) => ({ type: 'error', error: { type, message, traceback: ANY } });

const TABLE: readonly Row[] = [
  { title: 'ping answers pong (main)', role: 'main', exchange: [[{ type: 'ping' }, { type: 'pong' }]] },
  { title: 'ping answers pong (worker)', role: 'worker', exchange: [[{ type: 'ping' }, { type: 'pong' }]] },
  { title: 'an unknown request is an error answer, and the runtime goes on', role: 'worker', exchange: [
    [{ type: 'frobnicate' }, ERROR('ProtocolError', /unknown message type 'frobnicate'/)],
    [{ type: 'ping' }, { type: 'pong' }],
  ] },
  { title: 'main: init builds the class and gives TARGET_EVENTS as texts', role: 'main', exchange: [[INIT, { type: 'ready', target_events: ['100', '200'], get_configuration: true }]] },
  { title: 'main: init of a missing module is an error naming it', role: 'main', exchange: [
    [{ type: 'init', module: 'no_such_module', class: 'X' }, ERROR('ModuleNotFoundError', /no_such_module/)],
  ] },
  { title: 'main: init of a missing class is an ImportError', role: 'main', exchange: [
    [{ type: 'init', module: '{module}', class: 'Missing' }, ERROR('ImportError', /has no class Missing/)],
  ] },
  { title: 'main: a request before init is an error', role: 'main', exchange: [
    [{ type: 'getConfiguration', event: event('text') }, ERROR('ProtocolError', /send "init" first/)],
  ] },
  { title: 'main: start runs onStart(parent) with parent.configuration; a text is "handle"', role: 'main', exchange: [
    [INIT, { type: 'ready' }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('text') }, { type: 'decision', decision: { action: 'handle', configuration: 'configured:conf' } }],
  ] },
  { title: 'main: None is "skip"; (None, event) is "skip" with the events as given', role: 'main', exchange: [
    [INIT, { type: 'ready' }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('none') }, { type: 'decision', decision: { action: 'skip' } }],
    [{ type: 'getConfiguration', event: event('skip-emit') }, { type: 'decision', decision: { action: 'skip', events: { message: 'skipped' } } }],
  ] },
  { title: 'main: (configuration, [events]) is "handle" with the events', role: 'main', exchange: [
    [INIT, { type: 'ready' }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('emit') }, { type: 'decision', decision: { action: 'handle', configuration: 'cfg', events: [{ event_id: '20201', message: 'started' }, 'plain text'] } }],
  ] },
  { title: 'main: parent.delay answers "delay" at once; "call" later runs the function', role: 'main', exchange: [
    [INIT, { type: 'ready' }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('delay') }, { type: 'decision', decision: { action: 'delay', seconds: 0.25, call: 1 } }],
    [{ type: 'ping' }, { type: 'pong' }],
    [{ type: 'call', call: 1 }, { type: 'decision', decision: { action: 'handle', configuration: 'later', events: { message: 'after the delay' } } }],
    [{ type: 'call', call: 1 }, ERROR('ProtocolError', /no pending delayed call 1/)],
  ] },
  { title: 'main: stop forgets pending delayed calls', role: 'main', exchange: [
    [INIT, { type: 'ready' }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('delay') }, { type: 'decision', decision: { action: 'delay', call: 1 } }],
    [{ type: 'stop' }, { type: 'ok' }],
    [{ type: 'call', call: 1 }, ERROR('ProtocolError', /no pending delayed call/)],
  ] },
  { title: 'main: parent.delay with a negative delay raises in getConfiguration', role: 'main', exchange: [
    [INIT, { type: 'ready' }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('bad-delay') }, ERROR('ValueError', /seconds must be a finite number, 0 or more; got -1/)],
  ] },
  { title: 'main: an exception is an error answer with its traceback', role: 'main', exchange: [
    [INIT, { type: 'ready' }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('raise') }, { type: 'error', error: { type: 'RuntimeError', message: 'refused 100', traceback: /Traceback[\s\S]*in getConfiguration[\s\S]*RuntimeError: refused 100/ } }],
  ] },
  { title: 'main: another return value is "invalid", naming its type', role: 'main', exchange: [
    [INIT, { type: 'ready' }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('bad') }, { type: 'decision', decision: { action: 'invalid', returned: 'int' } }],
  ] },
  { title: 'main: a class without getConfiguration answers "default"', role: 'main', exchange: [
    [{ type: 'init', module: '{module}', class: 'PlainHandler' }, { type: 'ready', target_events: null, get_configuration: false }],
    [START, { type: 'ok' }],
    [{ type: 'getConfiguration', event: event('text') }, { type: 'decision', decision: { action: 'default' } }],
    [{ type: 'stop' }, { type: 'ok' }],
  ] },
  { title: 'worker: init builds the class', role: 'worker', exchange: [[INIT, { type: 'ready', target_events: ['100', '200'] }]] },
  { title: 'worker: handle returns a text, None, one event, many events', role: 'worker', exchange: [
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('text'), configuration: 'c1' }, { type: 'result', result: 'handled c1' }],
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('none'), configuration: '' }, { type: 'result', result: null }],
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('one'), configuration: '' }, { type: 'result', result: { message: 'one', value: 1 } }],
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('many'), configuration: '' }, { type: 'result', result: [{ message: 'a' }, { event_id: '20202', message: 'b', details: 'why' }] }],
  ] },
  { title: 'worker: the event reads by attribute, dumps as JSON, has data_json; a missing member reads as None', role: 'worker', exchange: [
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('echo'), configuration: '' }, { type: 'result', result: {
      message: 'echo',
      timestamp: 1510742418.234,
      path: '/in/a.csv',
      data_json: /^\{"path": ?"\/in\/a.csv", ?"size": ?3\}$/,
      data: { path: '/in/a.csv', size: 3 },
      event_keys: ['account', 'component', 'data', 'data_json', 'groups', 'id', 'message', 'name', 'server', 'timestamp', 'uuid'],
      token: null,
    } }],
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('echo', { account: { name: 'echo', token: 'tk' } }), configuration: '' }, { type: 'result', result: { token: 'tk' } }],
  ] },
  { title: 'worker: an exception is an error answer with the traceback; the next task runs', role: 'worker', exchange: [
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('raise'), configuration: 'x' }, { type: 'error', error: { type: 'ValueError', message: 'bad value x', traceback: /(?=[\s\S]*\bhandle\b)[\s\S]*ValueError: bad value x/ } }],
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('text'), configuration: 'c2' }, { type: 'result', result: 'handled c2' }],
  ] },
  { title: 'worker: a result JSON cannot carry is a ResultError', role: 'worker', exchange: [
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('not-json'), configuration: '' }, ERROR('ResultError', /handle\(\) returned a value that is not JSON data/)],
  ] },
  { title: 'worker: what handle prints goes to stderr, not into the protocol', role: 'worker', exchange: [
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('print'), configuration: '' }, { type: 'result', result: 'printed' }],
  ] },
  // The "exit" event would end the process if handle ran: the next answer proves it did not.
  { title: 'worker: a handle frame reached at or after its deadline answers expired without calling handle; one before it runs', role: 'worker', exchange: [
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('exit'), configuration: '', deadline: 1 }, { type: 'expired' }],
    [{ type: 'handle', module: '{module}', class: 'ConformanceHandler', event: event('text'), configuration: 'c3', deadline: 32503680000000 }, { type: 'result', result: 'handled c3' }],
  ] },
  { title: 'shutdown answers ok', role: 'worker', exchange: [[{ type: 'shutdown' }, { type: 'ok' }]] },
];

/** Replaces `{module}` with the runtime's module name, deeply. */
function forRuntime<T>(value: T, runtime: RuntimeUnderTest): T {
  return JSON.parse(JSON.stringify(value).replaceAll('{module}', runtime.module)) as T;
}
function expectedFor(value: unknown, runtime: RuntimeUnderTest): unknown {
  if (typeof value === 'string') return value === '{module}' ? runtime.module : value;
  if (value === null || typeof value !== 'object' || value instanceof RegExp) return value;
  if (Array.isArray(value)) return value.map((item) => expectedFor(item, runtime));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expectedFor(v, runtime)]));
}

for (const runtime of RUNTIMES) {
  describe(`protocol conformance: ${runtime.name} runtime`, () => {
    for (const role of runtime.roles) {
      test(`${role}: the first frame is hello with the protocol version, role and capabilities`, async () => {
        const talk = new Conversation(runtime.command(role));
        try {
          const hello = await talk.next();
          assertMatches(hello, { type: 'hello', protocol: PROTOCOL_VERSION, role, runtime: ANY });
          const capabilities = hello['capabilities'] as string[];
          const needed = role === 'main' ? ['init', 'start', 'stop', 'getConfiguration', 'call', 'ping', 'shutdown'] : ['init', 'handle', 'ping', 'shutdown'];
          for (const capability of needed) assert.ok(capabilities.includes(capability), `${capability} in ${JSON.stringify(capabilities)}`);
        } finally {
          talk.end();
        }
      });
    }

    for (const row of TABLE) {
      if (!runtime.roles.includes(row.role)) continue;
      test(row.title, async () => {
        const talk = new Conversation(runtime.command(row.role));
        try {
          await talk.next(); // hello
          for (const [request, expected] of row.exchange) {
            const answer = await talk.ask(forRuntime(request, runtime));
            assertMatches(answer, expectedFor(expected, runtime), `answer to ${String(request['type'])}`);
          }
        } finally {
          talk.end();
        }
      });
    }

    test('requests as Hookwork writes them (id first, the event encoded apart and spliced in, a burst in one write) are served in order', async () => {
      const talk = new Conversation(runtime.command('worker'));
      try {
        await talk.next(); // hello
        const eventJson = JSON.stringify(event('text'));
        const first = requestText({ type: 'handle', module: runtime.module, class: 'ConformanceHandler', configuration: 'w1' }, 1, eventJson);
        const second = requestText({ type: 'handle', module: runtime.module, class: 'ConformanceHandler', configuration: 'w2', deadline: 32503680000000 }, 2, eventJson);
        talk.child.stdin.write(encodeFrames([first.text, second.text], [first.size, second.size]));
        assertMatches(await talk.next(), { type: 'result', id: 1, result: 'handled w1' });
        assertMatches(await talk.next(), { type: 'result', id: 2, result: 'handled w2' });
      } finally {
        talk.end();
      }
      if (!runtime.roles.includes('main')) return;
      const main = new Conversation(runtime.command('main'));
      try {
        await main.next(); // hello
        await main.ask(forRuntime(INIT, runtime));
        await main.ask(START);
        const asked = requestText({ type: 'getConfiguration' }, 3, JSON.stringify(event('text')));
        main.child.stdin.write(encodeFrames([asked.text], [asked.size]));
        assertMatches(await main.next(), { type: 'decision', id: 3, decision: { action: 'handle', configuration: 'configured:conf' } });
      } finally {
        main.end();
      }
    });

    test('shutdown: the runtime exits with code 0; closing stdin does too', async () => {
      const first = new Conversation(runtime.command('worker'));
      await first.next();
      await first.ask({ type: 'shutdown' });
      assert.equal(await first.exited, 0);
      const second = new Conversation(runtime.command(runtime.roles[0] ?? 'worker'));
      await second.next();
      second.child.stdin.end();
      assert.equal(await second.exited, 0);
    });

    test('a frame that is not JSON ends the runtime with exit code 2', async () => {
      const talk = new Conversation(runtime.command('worker'));
      await talk.next();
      const body = Buffer.from('not json');
      const header = Buffer.alloc(4);
      header.writeUInt32BE(body.length);
      talk.child.stdin.write(Buffer.concat([header, body]));
      assert.equal(await talk.exited, 2);
    });

    test('handle calling sys.exit(7) (process.exit(7)) ends the process with code 7', async () => {
      const talk = new Conversation(runtime.command('worker'));
      await talk.next();
      talk.child.stdin.write(encodeFrame({ type: 'handle', id: 1, module: runtime.module, class: 'ConformanceHandler', event: event('exit'), configuration: '' }));
      assert.equal(await talk.exited, 7);
    });

    test('a worker past its memory cap exits with code 3 (Node: says so on stderr as V8 aborts)', async () => {
      const talk = new Conversation(runtime.command('worker', 64));
      let stderr = '';
      talk.child.stderr.setEncoding('utf8');
      talk.child.stderr.on('data', (text: string) => (stderr += text));
      await talk.next();
      talk.child.stdin.write(encodeFrame({ type: 'handle', id: 1, module: runtime.module, class: 'ConformanceHandler', event: event('hog'), configuration: '' }));
      const code = await talk.exited;
      if ('code' in runtime.outOfMemory) assert.equal(code, runtime.outOfMemory.code);
      else assert.match(stderr, runtime.outOfMemory.stderr);
    });
  });
}
