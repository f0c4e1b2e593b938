// Hookwork's Node runtime for the extension process protocol
// (docs/extension-protocol.md), worker role only: it serves handle() for
// JavaScript handlers with `isolation: process`, in a process Hookwork starts
// under Node's permission model (src/extensions/node-processes.ts). The
// handler's main side (onStart, getConfiguration, onStop) stays in the
// engine's process.
//
// Plain JavaScript with node: builtins only, on purpose: the permission
// model lets this process read the extension's folder, the paths it is
// granted and this one file, so the runtime can import nothing else (no tsx,
// no engine modules).
//
//   node --permission … hookwork_runtime.mjs worker

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const PROTOCOL = 1;
const MAX_FRAME_BYTES = 256 * 1024 * 1024;
const EXIT_PROTOCOL_ERROR = 2;

const role = process.argv[2];
if (role !== 'worker') {
  process.stderr.write(`hookwork node runtime: serves the "worker" role only (got ${String(role)})\n`);
  process.exit(EXIT_PROTOCOL_ERROR);
}

// Frames go to the real stdout; whatever the handler prints (console.log,
// process.stdout.write) goes to stderr, which Hookwork logs.
const out = process.stdout;
const writeOut = out.write.bind(out);
out.write = process.stderr.write.bind(process.stderr);

function send(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  writeOut(Buffer.concat([header, body]));
}

function protocolFailure(why) {
  process.stderr.write(`hookwork node runtime: ${why}\n`);
  process.exit(EXIT_PROTOCOL_ERROR);
}

class ProtocolError extends Error {
  name = 'ProtocolError';
}
class ResultError extends Error {
  name = 'ResultError';
}

// The worker copy gets data_json (computed when read) from a shared prototype,
// as in the thread pool's worker; JSON of the event lists it.
const EVENT_PROTO = Object.create(Object.prototype, {
  data_json: {
    get() {
      return JSON.stringify(this.data);
    },
    enumerable: false,
  },
  toJSON: {
    value() {
      return { ...this, data_json: this.data_json };
    },
    enumerable: false,
  },
});

const folder = process.env.HOOKWORK_EXTENSIONS_FOLDER ?? process.cwd();
/** module#class → { handlerClass, instance }, built once per process. */
const classes = new Map();

function moduleUrl(module) {
  return module.startsWith('file:') ? module : pathToFileURL(resolve(folder, module)).href;
}

async function load(module, className) {
  const key = `${module}#${className}`;
  let loaded = classes.get(key);
  if (loaded === undefined) {
    const namespace = await import(moduleUrl(module));
    const handlerClass = namespace[className];
    if (typeof handlerClass !== 'function' || typeof handlerClass.handle !== 'function') {
      const error = new Error(`${module} has no class ${className} with a static handle(event, configuration) method`);
      error.name = 'ImportError';
      throw error;
    }
    // Built once per worker, as SFTPPlus does; handle() stays static.
    loaded = { handlerClass, instance: new handlerClass() };
    classes.set(key, loaded);
  }
  return loaded;
}

/** Throws ResultError for what JSON would drop or refuse (functions, symbols, bigints, cycles). */
function checkJson(value, seen = new Set()) {
  const type = typeof value;
  if (type === 'function' || type === 'symbol' || type === 'bigint') {
    throw new ResultError(`handle() returned a value that is not JSON data (a ${type})`);
  }
  if (value === null || type !== 'object') return;
  if (seen.has(value)) throw new ResultError('handle() returned a value that is not JSON data (a cycle)');
  seen.add(value);
  for (const item of Array.isArray(value) ? value : Object.values(value)) checkJson(item, seen);
  seen.delete(value);
}

function errorAnswer(id, err) {
  const error = err instanceof Error ? err : new Error(String(err));
  let message = error.message;
  // Node's refusal names what was refused: say it in the message too.
  if (error.code === 'ERR_ACCESS_DENIED' && error.permission !== undefined) {
    message = `${message} (${error.permission}${error.resource ? `: ${error.resource}` : ''})`;
  }
  return {
    type: 'error',
    id,
    error: {
      type: error.name || 'Error',
      message,
      traceback: error.stack ?? `${error.name}: ${message}`,
      ...(typeof error.code === 'string' ? { code: error.code } : {}),
    },
  };
}

async function serve(request) {
  const { id } = request;
  switch (request.type) {
    case 'ping':
      return { type: 'pong', id };
    case 'init': {
      const { handlerClass } = await load(request.module, request.class);
      const targets = handlerClass.TARGET_EVENTS;
      return { type: 'ready', id, target_events: Array.isArray(targets) ? targets.map(String) : null };
    }
    case 'handle': {
      // The event's limit passed while its frame waited here: the host has
      // already failed it as timed out; running it would be work nobody waits for.
      if (typeof request.deadline === 'number' && Date.now() >= request.deadline) return { type: 'expired', id };
      const { handlerClass } = await load(request.module, request.class);
      const event = Object.setPrototypeOf(request.event, EVENT_PROTO);
      let result = await handlerClass.handle(event, request.configuration);
      if (result === undefined) result = null;
      checkJson(result);
      return { type: 'result', id, result };
    }
    default:
      throw new ProtocolError(`unknown message type '${String(request.type)}'`);
  }
}

// One request at a time, in order: each is answered before the next is read.
const queue = [];
let busy = false;

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const request = queue.shift();
    if (request.type === 'shutdown') {
      send({ type: 'ok', id: request.id });
      process.exit(0);
    }
    let answer;
    try {
      answer = await serve(request);
    } catch (err) {
      answer = errorAnswer(request.id ?? null, err);
    }
    send(answer);
  }
  busy = false;
}

let pending = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
  while (pending.length >= 4) {
    const size = pending.readUInt32BE(0);
    if (size > MAX_FRAME_BYTES) protocolFailure(`a frame of ${size} bytes is over the limit of ${MAX_FRAME_BYTES}`);
    if (pending.length < 4 + size) break;
    let message;
    try {
      message = JSON.parse(pending.toString('utf8', 4, 4 + size));
    } catch (err) {
      protocolFailure(`a frame is not JSON (${err.message})`);
    }
    if (message === null || typeof message !== 'object' || typeof message.type !== 'string') {
      protocolFailure('a frame is not a JSON object with a "type" text');
    }
    pending = pending.subarray(4 + size);
    queue.push(message);
  }
  void drain();
});
process.stdin.on('end', () => process.exit(0));

send({
  type: 'hello',
  protocol: PROTOCOL,
  role: 'worker',
  runtime: 'node',
  runtime_version: process.versions.node,
  pid: process.pid,
  capabilities: ['handle', 'init', 'ping', 'shutdown'],
});
