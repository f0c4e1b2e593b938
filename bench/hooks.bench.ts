// In-process hook points against their peers (issue 2, point 7):
//   sync notify fan-out to 1/10/100 subscribers vs EventEmitter and tapable's SyncHook
//   async notify to 10 subscribers vs hookable's callHook and emittery's emit
//   a gate chain of 5 vs tapable's AsyncSeriesBailHook
//   a middleware chain of 5 vs koa-compose
//   routing with 10,000 subscribers on other ids vs with 10
// plus host.emit end to end (envelope, routing, dispatch) as an extra line.
// Every listener is a distinct function (see lib.ts's distinctFunctions).

import { EventEmitter } from 'node:events';
import Emittery from 'emittery';
import { createHooks } from 'hookable';
import compose from 'koa-compose';
import { AsyncSeriesBailHook, SyncHook } from 'tapable';
import { createHost } from '../src/host.js';
import { Gates } from '../src/hooks/gate.js';
import { Methods } from '../src/hooks/middleware.js';
import { Notifier, type RoutableEvent } from '../src/hooks/notify.js';
import { silentLogger } from '../src/logger.js';
import { compare, distinctFunctions, type BenchResult } from './lib.js';

type Listener = (event: RoutableEvent) => void;
type AsyncListener = (event: RoutableEvent) => Promise<void>;

const EVENT: RoutableEvent = Object.freeze({ id: '100', groups: Object.freeze([]) as readonly string[] });

function syncListeners(count: number, sink: Record<string, number>): Listener[] {
  return distinctFunctions<Listener>(count, (i) => `sink.n${i % 8} = (sink.n${i % 8} | 0) + ${i + 1};`, ['event'], sink);
}

function asyncListeners(count: number, sink: Record<string, number>): AsyncListener[] {
  // Async functions: every peer awaits them, so ours gets the same work.
  return distinctFunctions<Listener>(count, (i) => `sink.a${i % 8} = (sink.a${i % 8} | 0) + ${i + 1};`, ['event'], sink).map(
    (fn) => new Function('fn', `return async function async_${fn.name}(event) { fn(event); }`)(fn) as AsyncListener,
  );
}

async function syncFanOut(count: number): Promise<BenchResult[]> {
  const sink: Record<string, number> = {};
  const listeners = syncListeners(count, sink);
  const notifier = new Notifier<RoutableEvent>(() => undefined);
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const hook = new SyncHook<[RoutableEvent]>(['event']);
  listeners.forEach((fn, i) => {
    notifier.subscribe('100', fn, `l${i}`);
    emitter.on('100', fn);
    hook.tap(`l${i}`, fn);
  });
  const vsEmitter = await compare(
    () => notifier.emitSync(EVENT),
    () => emitter.emit('100', EVENT),
  );
  const vsTapable = await compare(
    () => notifier.emitSync(EVENT),
    () => hook.call(EVENT),
  );
  const name = `sync notify, ${count} subscriber${count === 1 ? '' : 's'}`;
  return [
    { name, unit: 'ops/s', ...vsEmitter, peerName: 'EventEmitter', higherIsBetter: true, target: 'within 1.5x' },
    { name, unit: 'ops/s', ...vsTapable, peerName: 'tapable SyncHook', higherIsBetter: true },
  ];
}

async function asyncFanOut(): Promise<BenchResult[]> {
  const sink: Record<string, number> = {};
  const listeners = asyncListeners(10, sink);
  const notifier = new Notifier<RoutableEvent>(() => undefined);
  const hooks = createHooks<{ '100': (event: RoutableEvent) => Promise<void> }>();
  const emittery = new Emittery<{ '100': RoutableEvent }>();
  listeners.forEach((fn, i) => {
    notifier.subscribe('100', fn, `l${i}`);
    hooks.hook('100', fn);
    emittery.on('100', fn);
  });
  const vsHookable = await compare(
    () => notifier.emit(EVENT),
    () => hooks.callHook('100', EVENT),
    { async: true },
  );
  const vsEmittery = await compare(
    () => notifier.emit(EVENT),
    () => emittery.emit('100', EVENT),
    { async: true },
  );
  const name = 'async notify, 10 subscribers';
  return [
    { name, unit: 'ops/s', ...vsHookable, peerName: 'hookable callHook', higherIsBetter: true },
    { name, unit: 'ops/s', ...vsEmittery, peerName: 'emittery emit', higherIsBetter: true, target: 'faster' },
  ];
}

async function gateChain(): Promise<BenchResult[]> {
  const sink: Record<string, number> = {};
  const fns = distinctFunctions<(ctx: { n: number }) => undefined>(
    5,
    (i) => `sink.g${i} = (sink.g${i} | 0) + ctx.n; return undefined;`,
    ['ctx'],
    sink,
  );
  const gates = new Gates(silentLogger());
  gates.declare('pre-upload', { timeoutMs: 60_000 });
  const hook = new AsyncSeriesBailHook<[{ n: number }], unknown>(['ctx']);
  fns.forEach((fn, i) => {
    // Both sides get the same async gates (a gate usually awaits something).
    const asyncFn = new Function('fn', `return async function gate_${i}(ctx) { return fn(ctx); }`)(fn) as (ctx: {
      n: number;
    }) => Promise<undefined>;
    gates.register('pre-upload', asyncFn, { name: `g${i}` });
    hook.tapPromise(`g${i}`, asyncFn);
  });
  const ctx = { n: 1 };
  const result = await compare(
    () => gates.run('pre-upload', ctx),
    () => hook.promise(ctx),
    { async: true },
  );
  return [{ name: 'gate chain of 5', unit: 'ops/s', ...result, peerName: 'tapable AsyncSeriesBailHook', higherIsBetter: true }];
}

async function middlewareChain(): Promise<BenchResult[]> {
  const sink: Record<string, number> = {};
  type Ctx = { n: number };
  type Method = (ctx: Ctx) => Promise<number>;
  const methods = new Methods();
  methods.define<Method>('users.edit', async (ctx) => ctx.n);
  const koa: Array<compose.Middleware<Ctx>> = [];
  for (let i = 0; i < 5; i++) {
    const ours = new Function('sink', `return async function mw_${i}(next, ctx) { sink.m${i} = (sink.m${i} | 0) + 1; return next(ctx); }`)(
      sink,
    ) as (next: (ctx: Ctx) => Promise<number>, ctx: Ctx) => Promise<number>;
    const theirs = new Function('sink', `return async function koa_${i}(ctx, next) { sink.k${i} = (sink.k${i} | 0) + 1; return next(); }`)(
      sink,
    ) as compose.Middleware<Ctx>;
    methods.use<Method>('users.edit', ours, `m${i}`);
    koa.push(theirs);
  }
  koa.push(async (ctx) => void ctx.n);
  const composed = compose(koa);
  const ctx = { n: 1 };
  const result = await compare(
    () => methods.call<Method>('users.edit', ctx),
    () => composed(ctx),
    { async: true },
  );
  return [
    { name: 'middleware chain of 5', unit: 'ops/s', ...result, peerName: 'koa-compose', higherIsBetter: true, target: 'within 1.1x' },
  ];
}

async function routing(): Promise<BenchResult[]> {
  const sink: Record<string, number> = {};
  const listeners = syncListeners(10, sink);
  const others = distinctFunctions<Listener>(64, (i) => `sink.o${i % 8} = ${i};`, ['event'], sink);
  const build = (otherCount: number): Notifier<RoutableEvent> => {
    const notifier = new Notifier<RoutableEvent>(() => undefined);
    for (let i = 0; i < otherCount; i++) notifier.subscribe(`other-${i}`, others[i % others.length] as Listener);
    listeners.forEach((fn) => notifier.subscribe('100', fn));
    return notifier;
  };
  const crowded = build(10_000);
  const quiet = build(10);
  const result = await compare(
    () => crowded.emitSync(EVENT),
    () => quiet.emitSync(EVENT),
  );
  return [
    {
      name: 'routing, 10,000 subscribers on other ids',
      unit: 'ops/s',
      ...result,
      peerName: 'same, with 10',
      higherIsBetter: true,
      target: 'within 1.2x',
    },
  ];
}

async function hostEmit(): Promise<BenchResult[]> {
  const sink: Record<string, number> = {};
  const listeners = syncListeners(10, sink);
  const host = createHost({ logger: silentLogger(), events: [{ id: '100', name: 'uploaded', message: 'File {{data.path}}' }] });
  const emitter = new EventEmitter();
  listeners.forEach((fn) => {
    host.on('100', fn);
    emitter.on('100', fn);
  });
  const input = { data: { path: '/in/a.txt' } };
  const result = await compare(
    async () => {
      await host.emit('100', input);
    },
    async () => {
      emitter.emit('100', input);
    },
    { async: true },
  );
  await host.close();
  return [
    {
      name: 'host.emit end to end, 10 subscribers (envelope, message, dispatch)',
      unit: 'ops/s',
      ...result,
      peerName: 'EventEmitter (no envelope)',
      higherIsBetter: true,
    },
  ];
}

export async function run(): Promise<BenchResult[]> {
  return [
    ...(await syncFanOut(1)),
    ...(await syncFanOut(10)),
    ...(await syncFanOut(100)),
    ...(await asyncFanOut()),
    ...(await gateChain()),
    ...(await middlewareChain()),
    ...(await routing()),
    ...(await hostEmit()),
  ];
}
