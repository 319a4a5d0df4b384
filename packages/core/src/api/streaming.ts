import { FastpathError, toFastpathError } from '../protocol/errors.js';
import type { ClientStream } from '../session/client-stream.js';

/** A call whose responses arrive as a stream: iterate it; `cancel()` or `break` ends it. */
export interface StreamCall<T> extends AsyncIterable<T> {
  /** Ends the call early: sends CANCEL; the iteration ends with CANCELLED. */
  cancel(reason?: string): void;
}

/** Turns an opened stream (or the error that prevented opening it) into a StreamCall. */
export function streamCall<T>(open: () => ClientStream, map: (v: unknown) => T = (v) => v as T): StreamCall<T> {
  let st: ClientStream | undefined;
  let openError: FastpathError | undefined;
  try {
    st = open();
  } catch (err) {
    openError = toFastpathError(err, 'UNAVAILABLE');
  }
  let iterated = false;
  const cancel = (reason = 'cancelled by the client'): void => {
    st?.fail(new FastpathError('CANCELLED', reason, { details: { reason: 'client-cancel' } }), true);
  };
  return {
    cancel,
    [Symbol.asyncIterator](): AsyncIterator<T> {
      if (iterated) throw new TypeError('a stream call can be iterated only once');
      iterated = true;
      return {
        next: async () => {
          if (openError) throw openError;
          const r = await st!.next();
          return r.done ? { value: undefined, done: true } : { value: map(r.value), done: false };
        },
        return: async () => {
          if (st && !st.done) cancel('the client stopped reading');
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/**
 * Sends every message of `source` on the stream, waiting for credit, then half-closes. If the
 * source throws, the call is cancelled with that reason.
 */
export async function pumpSource(st: ClientStream, source: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
  try {
    for await (const message of source) {
      if (!(await st.send(message))) return;
    }
    st.end();
  } catch (err) {
    st.fail(new FastpathError('CANCELLED', `the request stream failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { reason: 'source-failed' } }), true);
  }
}
