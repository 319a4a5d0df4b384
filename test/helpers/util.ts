import { FastpathError } from '@fastpath/core';

/** Awaits a promise that must reject with a FastpathError, and returns the error. */
export async function rejectsWith(p: Promise<unknown>): Promise<FastpathError> {
  try {
    await p;
  } catch (e) {
    if (!FastpathError.is(e)) throw new Error(`expected a FastpathError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected the promise to reject');
}

/** Polls `check` until it returns true or `timeoutMs` passes (bounded). */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
