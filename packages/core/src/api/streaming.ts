import { FastpathError, toFastpathError } from '../protocol/errors.js';
import type { ClientStream } from '../session/client-stream.js';

/** A call whose responses arrive as a stream: iterate it; `cancel()` or `break` ends it. */
export interface StreamCall<T> extends AsyncIterable<T> {
  /** Ends the call early: sends CANCEL; the iteration ends with CANCELLED. */
  cancel(reason?: string): void;
}

/**
 * Turns an opened stream (or one being opened once the client is connected again, or the error
 * that prevented opening it) into a StreamCall.
 */
export function streamCall<T>(open: () => ClientStream | Promise<ClientStream>, map: (v: unknown) => T = (v) => v as T): StreamCall<T> {
  let st: ClientStream | undefined;
  let opening: Promise<ClientStream> | undefined;
  let openError: FastpathError | undefined;
  let cancelled: FastpathError | undefined;
  const cancel = (reason = 'cancelled by the client'): void => {
    const err = new FastpathError('CANCELLED', reason, { details: { reason: 'client-cancel' } });
    if (st) st.fail(err, true);
    else cancelled ??= err;
  };
  const opened = (s: ClientStream): ClientStream => {
    st = s;
    if (cancelled) s.fail(cancelled, true);
    return s;
  };
  try {
    const r = open();
    if (r instanceof Promise) {
      opening = r.then(opened);
      opening.catch(() => {});
    } else opened(r);
  } catch (err) {
    openError = toFastpathError(err, 'UNAVAILABLE');
  }
  let iterated = false;
  return {
    cancel,
    [Symbol.asyncIterator](): AsyncIterator<T> {
      if (iterated) throw new TypeError('a stream call can be iterated only once');
      iterated = true;
      return {
        next: async () => {
          if (openError) throw openError;
          if (!st) {
            if (cancelled) throw cancelled;
            try {
              await opening;
            } catch (err) {
              openError = toFastpathError(err, 'UNAVAILABLE');
              throw openError;
            }
          }
          const r = await st!.next();
          return r.done ? { value: undefined, done: true } : { value: map(r.value), done: false };
        },
        return: async () => {
          if (st && !st.done) cancel('the client stopped reading');
          else if (!st) cancel('the client stopped reading');
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
