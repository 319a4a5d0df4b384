import { FastpathError, ProtocolError } from '../protocol/errors.js';
import { encodeCredit, encodeStreamData, encodeStreamEnd } from '../protocol/stream-messages.js';
import { CreditGate, Inbox, ReceiveWindow } from './credit.js';

export type StreamKind = 'server-stream' | 'client-stream' | 'bidi';

export interface ClientStreamHost {
  write(frame: Buffer): void;
  /** The largest frame body the server accepts. */
  maxFrameBytes: number;
  /** Sends CANCEL for this id (if the connection is open). */
  cancel(id: number): void;
  /** The call ended: forget its id. */
  release(id: number): void;
}

/**
 * The client side of one streaming call. Messages from the server wait in a bounded inbox (the
 * window bounds it); messages to the server wait for credit. The call ends with STREAM_END or
 * RESPONSE from the server, an ERROR, a cancel, or its deadline.
 */
export class ClientStream {
  private readonly inbox = new Inbox<unknown>();
  private readonly window = new ReceiveWindow();
  private readonly gate = new CreditGate();
  private finished = false;
  private resolveResponse!: (v: unknown) => void;
  private rejectResponse!: (e: FastpathError) => void;
  /** The single response of a client-streaming call. */
  readonly response: Promise<unknown>;
  /** Called once when the call ends (timers, abort listeners). */
  cleanup: (() => void) | undefined;
  /** Why the call failed, once it has. */
  error: FastpathError | undefined;

  constructor(
    private readonly host: ClientStreamHost,
    readonly id: number,
    readonly method: string,
    readonly kind: StreamKind,
  ) {
    this.response = new Promise((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    // Unobserved for server/bidi streams; never an unhandled rejection.
    this.response.catch(() => {});
  }

  get done(): boolean {
    return this.finished;
  }

  // --- frames from the server ---------------------------------------------------------------

  onData(message: unknown): void {
    if (this.kind === 'client-stream') throw new ProtocolError('unexpected-frame', `STREAM_DATA for client-streaming call ${this.id}`);
    if (!this.window.arrived()) throw new ProtocolError('flow-control', `the server sent more than its credit on stream ${this.id}`);
    this.inbox.push(message);
  }

  onEnd(): void {
    if (this.kind === 'client-stream') throw new ProtocolError('unexpected-frame', `STREAM_END for client-streaming call ${this.id}`);
    this.inbox.end();
    this.finish();
  }

  onResponse(value: unknown): void {
    if (this.kind !== 'client-stream') throw new ProtocolError('unexpected-frame', `RESPONSE for ${this.kind} call ${this.id}`);
    this.resolveResponse(value);
    this.finish();
  }

  onCredit(n: number): void {
    this.gate.grant(n);
  }

  /** The call failed (ERROR from the server, deadline, cancel, lost connection). */
  fail(err: FastpathError, sendCancel: boolean): void {
    if (this.finished) return;
    this.error = err;
    if (sendCancel) this.host.cancel(this.id);
    this.inbox.fail(err);
    this.rejectResponse(err);
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.gate.close();
    this.host.release(this.id);
    this.cleanup?.();
  }

  // --- the application side -----------------------------------------------------------------

  /** The next message from the server; returning credit as messages are taken. */
  next(): Promise<IteratorResult<unknown, undefined>> {
    return this.inbox.next(() => {
      const n = this.window.took();
      if (n > 0 && !this.finished) this.host.write(encodeCredit(this.id, n));
    });
  }

  /** Sends one message, waiting for credit. Resolves false if the call has ended. */
  async send(message: unknown): Promise<boolean> {
    if (!(await this.gate.acquire()) || this.finished) return false;
    const frame = encodeStreamData(this.id, message);
    if (frame.length - 12 > this.host.maxFrameBytes) {
      this.fail(
        new FastpathError('RESOURCE_EXHAUSTED', `a message for ${this.method} is ${frame.length - 12} bytes, over the server's maxFrameBytes ${this.host.maxFrameBytes}`, {
          details: { reason: 'frame-too-large', limit: this.host.maxFrameBytes, size: frame.length - 12 },
        }),
        true,
      );
      return false;
    }
    this.host.write(frame);
    return true;
  }

  /** Half-close: no more messages from the client. */
  end(): void {
    if (!this.finished) this.host.write(encodeStreamEnd(this.id));
  }
}
