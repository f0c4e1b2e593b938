// A command child that calls setsid() (or setpgid) leaves the process group
// the timeout kill signals, and would outlive it. Linux gives an unprivileged
// process no way to hold on to it: PR_SET_CHILD_SUBREAPER needs prctl(), which
// Node cannot call without a native addon, and a cgroup of our own needs a
// writable cgroup tree (root or a delegated systemd unit). What it does give
// is /proc: every run gets a marker in its environment (HOOKWORK_RUN_ID),
// which its descendants inherit whatever session or group they move to, and
// on a timeout the processes carrying it, plus the child's descendants still
// linked by parent id, are signalled too. Only on a kill, never per run.

import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/** The environment variable each command run carries (its value is unique per run). */
export const RUN_ID_VAR = 'HOOKWORK_RUN_ID';

export function newRunId(): string {
  return randomUUID();
}

/** The parent pid from /proc/<pid>/stat (the command name may hold spaces and parentheses). */
function parentOf(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/**
 * Signals every process of the run that left the child's process group: those
 * whose environment carries `runId`, and the descendants of `rootPid`.
 * `signal` 0 only counts them. Returns how many there were. Linux only (elsewhere 0).
 */
export function sweepRun(rootPid: number | undefined, runId: string, signal: NodeJS.Signals | 0): number {
  if (process.platform !== 'linux') return 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  const needle = Buffer.from(`${RUN_ID_VAR}=${runId}\0`);
  const children = new Map<number, number[]>();
  const found = new Set<number>();
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const ppid = parentOf(name);
    if (ppid === undefined) continue;
    let list = children.get(ppid);
    if (list === undefined) children.set(ppid, (list = []));
    list.push(pid);
    try {
      // Readable for our own processes; others (another user's) are not ours to kill anyway.
      if (readFileSync(`/proc/${name}/environ`).includes(needle)) found.add(pid);
    } catch {
      /* gone, or not ours */
    }
  }
  if (rootPid !== undefined) {
    const queue = [rootPid];
    for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
      for (const child of children.get(pid) ?? []) {
        if (!found.has(child)) {
          found.add(child);
          queue.push(child);
        }
      }
    }
  }
  let alive = 0;
  for (const pid of found) {
    try {
      process.kill(pid, signal);
      alive += 1;
    } catch {
      /* exited meanwhile */
    }
  }
  return alive;
}
