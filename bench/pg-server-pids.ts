// The processes of a throwaway PostgreSQL server, found in /proc: the
// postmaster started with `-p <port>` and its children (backends, WAL
// writer, …), for probes that count the server's CPU per operation.

import { readdirSync, readFileSync } from 'node:fs';

/** The postmaster listening on `port` (undefined when not found) and the pids of it and its children. */
export function serverPids(port: number): { master: string | undefined; pids: string[] } {
  let master: string | undefined;
  const parents = new Map<string, string>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parents.set(pid, stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] as string);
      if (master === undefined && readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(`-p ${port} `)) master = pid;
    } catch {
      // gone
    }
  }
  return { master, pids: [...parents].filter(([pid, parent]) => pid === master || parent === master).map(([pid]) => pid) };
}
