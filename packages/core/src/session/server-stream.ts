import { FastpathError, ProtocolError } from '../protocol/errors.js';
import { encodeCredit, encodeStreamData, encodeStreamEnd } from '../protocol/stream-messages.js';
import { CreditGate, Inbox, ReceiveWindow } from './credit.js';
import type { ServerCall } from './server-call.js';

/** Method shapes. The REQUEST flags must match the registered shape. */
export type MethodKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** The server side of one streaming call: the client's messages in, credit out, and our credit. */
export class ServerStreamState {
  readonly inbox = new Inbox<unknown>();
  private readonly window = new ReceiveWindow();
  readonly gate = new CreditGate();

  constructor(
    private readonly write: (frame: Buffer) => void,
    readonly id: number,
    private readonly acceptsMessages: boolean,
  ) {}

  onData(message: unknown): void {
    if (!this.acceptsMessages) throw new ProtocolError('unexpected-frame', `STREAM_DATA for call ${this.id}, which takes no stream`);
    if (!this.window.arrived()) throw new ProtocolError('flow-control', `the client sent more than its credit on stream ${this.id}`);
    this.inbox.push(message);
  }

  onEnd(): void {
    this.inbox.end();
  }

  /** The client's messages as the handler sees them: validated one by one, credit returned as taken. */
  requests(validate: ((m: unknown) => unknown) | undefined): AsyncIterable<unknown> {
    const next = async (): Promise<IteratorResult<unknown, undefined>> => {
      const r = await this.inbox.next(() => {
        const n = this.window.took();
        if (n > 0) this.write(encodeCredit(this.id, n));
      });
      if (r.done || !validate) return r;
      return { value: await validate(r.value), done: false };
    };
    return { [Symbol.asyncIterator]: () => ({ next }) };
  }

  /** The call ended: stop the producer and the handler's request iteration. */
  close(reason: FastpathError): void {
    this.gate.close();
    this.inbox.fail(reason);
  }
}

export interface PumpHost {
  write(frame: Buffer): void;
  /** The largest frame body the client accepts. */
  maxFrameBytes: number;
  /** Ends the call successfully (STREAM_END was written). */
  succeedStream(call: ServerCall): void;
  fail(call: ServerCall, err: unknown): void;
}

function iteratorOf(value: unknown): AsyncIterator<unknown> | Iterator<unknown> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
  if (typeof v[Symbol.asyncIterator] === 'function') return v[Symbol.asyncIterator]!();
  if (typeof v[Symbol.iterator] === 'function' && !Array.isArray(value)) return v[Symbol.iterator]!();
  if (Array.isArray(value)) return value[Symbol.iterator]();
  return undefined;
}

/**
 * Sends what a server-stream or bidi handler produces. The handler's iterator is pulled only when
 * the client has granted credit, so a slow consumer pauses the producer instead of growing a
 * buffer. When the call ends early (cancel, deadline, shutdown) the iterator's return() runs,
 * which runs the generator's finally blocks.
 */
export async function pumpStream(host: PumpHost, call: ServerCall, st: ServerStreamState, produced: unknown): Promise<void> {
  const it = iteratorOf(produced);
  if (!it) {
    host.fail(call, new FastpathError('INTERNAL', `the handler of ${call.method} must return an iterable or async iterable`));
    return;
  }
  let completed = false;
  try {
    for (;;) {
      if (call.done || !(await st.gate.acquire()) || call.done) break;
      const r = await it.next();
      if (call.done) break;
      if (r.done) {
        completed = true;
        host.write(encodeStreamEnd(call.id));
        host.succeedStream(call);
        return;
      }
      const frame = encodeStreamData(call.id, r.value);
      if (frame.length - 12 > host.maxFrameBytes) {
        host.fail(
          call,
          new FastpathError('RESOURCE_EXHAUSTED', `a message of ${call.method} is ${frame.length - 12} bytes, over the client's maxFrameBytes ${host.maxFrameBytes}`, {
            details: { reason: 'frame-too-large', limit: host.maxFrameBytes, size: frame.length - 12 },
          }),
        );
        break;
      }
      host.write(frame);
    }
  } catch (err) {
    host.fail(call, err);
  } finally {
    if (!completed) {
      try {
        await it.return?.(undefined);
      } catch {
        /* the generator's own cleanup failed; the call has already ended */
      }
    }
  }
}
