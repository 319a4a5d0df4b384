import type { FastpathError } from '@fastpath/core';

/** Reads a stream call to its end; resolves with the messages, or rejects with the call's error. */
export async function collect<T>(call: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of call) out.push(m);
  return out;
}

/** Reads until the call fails; returns what arrived and the error. */
export async function collectUntilError<T>(call: AsyncIterable<T>): Promise<{ got: T[]; err: FastpathError }> {
  const got: T[] = [];
  try {
    for await (const m of call) got.push(m);
  } catch (e) {
    return { got, err: e as FastpathError };
  }
  throw new Error(`expected the stream to fail; it ended after ${got.length} messages`);
}
