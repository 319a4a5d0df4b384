/** What a test opened and must close after it: closeAll() runs them, newest first. */
export const closers: Array<() => Promise<unknown> | void> = [];

/** Runs and forgets every closer, newest first: register it with `afterEach(closeAll)`. */
export async function closeAll(): Promise<void> {
  for (const c of closers.splice(0).reverse()) await c();
}
