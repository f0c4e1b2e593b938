// Bounded polling for a condition: tests wait for states, never for times.
// The one poller of the suite; it resolves with the condition's value, so a
// test can wait for the thing it then inspects.

export interface WaitOptions {
  /** What is awaited, for the timeout's message. */
  what?: string;
  /** Gives up after this long (default 10 s): only a failing test waits that long. */
  timeoutMs?: number;
  intervalMs?: number;
  /**
   * Polls on setImmediate instead of setTimeout, for tests that mock the
   * timers (the bound still uses the real clock: Date is not mocked there).
   */
  immediate?: boolean;
}

/** A value that means "not yet". */
type NotYet = undefined | null | false;

/**
 * Calls `condition` until it returns something other than undefined, null or
 * false, and resolves with that; `options` may be just the `what` text.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions | string = {}): Promise<Exclude<T, NotYet>> {
  const { what = 'a condition', timeoutMs = 10_000, intervalMs = 10, immediate = false } = typeof options === 'string' ? { what: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value as Exclude<T, NotYet>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what} (${timeoutMs} ms)`);
    await new Promise((resolve) => (immediate ? setImmediate(resolve) : setTimeout(resolve, intervalMs)));
  }
}
