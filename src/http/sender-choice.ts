// Where webhook requests go out: `delivery.sender_thread` true (the sender
// thread, sender-thread.ts), false (the main thread, pools.ts), or `auto`
// (the default): each request from the thread while the machine has a core
// to spare for it, measured (adaptive-transport.ts, spare-cores.ts); on one
// core, always the main thread.

import { usableCores } from './spare-cores.js';

export type SenderThreadSetting = boolean | 'auto';

export type SenderMode = 'thread' | 'main' | 'adaptive';

/** How requests go out for a setting; `cores` is this process's (for tests; usableCores()). */
export function senderMode(setting: SenderThreadSetting, cores: number = usableCores()): SenderMode {
  if (setting !== 'auto') return setting ? 'thread' : 'main';
  return cores >= 2 ? 'adaptive' : 'main';
}
