// Preloaded (node --require ./bench/sqlite-count-hook.cjs) into every thread,
// the SQLite store's included: counts better-sqlite3 statement runs by their
// SQL's first words, and answers a BroadcastChannel('sqlite-count') with the
// counts and this thread's id, so a bench script can read what the store
// thread ran per delivery (counts since the start: the script takes the
// difference of two reports). Bench-only; the product knows nothing of it.
'use strict';
const { BroadcastChannel, isMainThread } = require('node:worker_threads');
const Database = require('better-sqlite3');
const probe = new Database(':memory:');
const proto = Object.getPrototypeOf(probe.prepare('SELECT 1'));
probe.close();
const counts = new Map();
// In-thread stores (bench/sqlite-store-cycle.ts) read them here.
globalThis.__sqliteCounts = counts;
// Other threads load this too (tsx's loader thread among them): only one that ran statements answers.
let ran = false;
for (const m of ['run', 'get', 'all', 'iterate']) {
  const orig = proto[m];
  proto[m] = function (...args) {
    const key = this.source.replace(/\s+/g, ' ').trim().slice(0, 60);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    ran = true;
    return orig.apply(this, args);
  };
}
if (!isMainThread) {
  const ch = new BroadcastChannel('sqlite-count');
  ch.unref();
  ch.onmessage = (e) => {
    if (!ran) return;
    if (e.data === 'report') ch.postMessage({ counts: Object.fromEntries(counts) });
  };
}
