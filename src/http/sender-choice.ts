// Whether webhook requests go out from the sender thread (sender-thread.ts)
// or the main thread (pools.ts): `delivery.sender_thread` true or false, or
// `auto` (the default), which picks the sender thread only where it has a
// core to run on. Measured on 2 cores (docs/performance.md), the thread lost
// to the main thread, by a wide margin when another process took a core: the
// host, the sender thread, the store and the receiver then share too little.

import { availableParallelism } from 'node:os';

/** Cores from which `auto` sends from the sender thread: one for the host, one for the thread, one for the rest. */
export const SENDER_THREAD_MIN_CORES = 3;

export type SenderThreadSetting = boolean | 'auto';

/** True when requests go out from the sender thread; `cores` is the machine's (for tests). */
export function useSenderThread(setting: SenderThreadSetting, cores: number = availableParallelism()): boolean {
  return setting === 'auto' ? cores >= SENDER_THREAD_MIN_CORES : setting;
}
