// A delivery search reads about a page of rows however many are stored: on
// a real SQLite file, after migration, every search the console makes
// (each filter, a time window, the next page's cursor) walks an index in
// list order — no full scan of deliveries and no sort of the whole set.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { LIST_ORDER, listWhere } from '../../src/delivery/row-mappers.js';
import { SqliteStore } from '../../src/delivery/sqlite-store.js';
import type { ListFilter } from '../../src/delivery/store.js';

test('sqlite: every delivery search (each filter, a window, a cursor) walks an index in list order, with no scan or sort of the table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-plans-'));
  try {
    const file = join(dir, 'hookwork.db');
    const store = new SqliteStore({ file });
    await store.migrate();
    await store.close();
    const db = new Database(file);
    const after = { createdAt: 1_700_000_000_000, id: 'dlv_x' };
    const filters: ListFilter[] = [
      {},
      { after },
      { target: 't' },
      { target: 't', after },
      { state: 'failed' },
      { state: 'failed', after },
      { eventId: 'u' },
      { since: 1, until: 2 },
      { target: 't', since: 1, until: 2, after },
    ];
    for (const filter of filters) {
      const { where, params } = listWhere(filter, () => '?');
      const sql = `SELECT d.id FROM deliveries d JOIN delivery_events e ON e.seq = d.event_seq ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${LIST_ORDER} LIMIT 50`;
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
      assert.match(plan, /SEARCH d USING (COVERING )?INDEX|SCAN d USING (COVERING )?INDEX/, `${JSON.stringify(filter)}: ${plan}`);
      assert.doesNotMatch(plan, /SCAN d(?! USING)/, `no full scan: ${JSON.stringify(filter)}: ${plan}`);
      if (filter.eventId === undefined) assert.doesNotMatch(plan, /TEMP B-TREE/, `no sort of the matches: ${JSON.stringify(filter)}: ${plan}`);
      // The filter's own index: its rows only, not every row to find them.
      const own = filter.eventId !== undefined ? 'deliveries_event_uuid' : filter.target !== undefined ? 'deliveries_target_created' : filter.state !== undefined ? 'deliveries_state_created' : 'deliveries_created';
      assert.match(plan, new RegExp(`INDEX ${own}\\b`), `${JSON.stringify(filter)}: ${plan}`);
    }
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
