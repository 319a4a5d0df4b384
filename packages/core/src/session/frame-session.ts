import { FastpathError, ProtocolError, toFastpathError } from '../protocol/errors.js';
import { FrameType } from '../protocol/frame.js';
import { FrameParser } from '../protocol/frame-parser.js';
import { encodeEmpty, encodeGoAway } from '../protocol/messages.js';
import type { Connection } from '../transport/types.js';
import { Keepalive, type KeepaliveOptions } from './keepalive.js';

export interface FrameSessionOptions {
  maxFrameBytes: number;
  keepalive: KeepaliveOptions;
}

export type SessionState = 'handshake' | 'open' | 'draining' | 'closed';

/**
 * What client and server sessions share: feeding bytes to the frame parser, PING/PONG keepalive,
 * turning protocol violations into GOAWAY + close, and a single close path.
 */
export abstract class FrameSession {
  state: SessionState = 'handshake';
  protected readonly parser: FrameParser;
  protected readonly keepalive: Keepalive;
  /** Why the session closed, once it has. */
  closeReason: FastpathError | undefined;

  constructor(
    readonly conn: Connection,
    protected readonly options: FrameSessionOptions,
  ) {
    this.parser = new FrameParser((type, flags, id, body) => this.dispatch(type, flags, id, body), options.maxFrameBytes);
    this.keepalive = new Keepalive(
      options.keepalive,
      (seq) => this.conn.write(encodeEmpty(FrameType.PING, seq)),
      (silentMs) => this.terminate(new FastpathError('UNAVAILABLE', `peer did not answer keepalive for ${silentMs} ms`, { details: { reason: 'keepalive-timeout' } })),
    );
    conn.onData = (chunk) => {
      this.keepalive.markReceived();
      try {
        this.parser.push(chunk);
      } catch (err) {
        this.protocolFailure(err);
      }
    };
    conn.onClose = (err) => {
      this.terminate(
        this.closeReason ??
          new FastpathError('UNAVAILABLE', err ? `connection lost: ${(err as NodeJS.ErrnoException).code ?? err.message}` : 'connection closed by peer', {
            cause: err,
            details: { reason: err ? 'connection-error' : 'peer-closed' },
          }),
      );
    };
  }

  private dispatch(type: number, flags: number, id: number, body: Uint8Array): void {
    if (this.state === 'closed') return;
    if (type === FrameType.PING) {
      this.conn.write(encodeEmpty(FrameType.PONG, id));
      return;
    }
    if (type === FrameType.PONG) return;
    this.onFrame(type, flags, id, body);
  }

  protected abstract onFrame(type: number, flags: number, id: number, body: Uint8Array): void;

  /** Called exactly once, when the session ends for any reason. */
  protected abstract onClosed(reason: FastpathError): void;

  /** The highest request id this side has accepted, reported in GOAWAY. */
  protected lastAcceptedId(): number {
    return 0;
  }

  /**
   * A protocol violation by the peer: tell it why in GOAWAY, close, and end the session.
   * Non-protocol errors reaching here are bugs in a frame handler and are reported as INTERNAL.
   */
  protected protocolFailure(err: unknown): void {
    if (this.state === 'closed') return;
    const e = ProtocolError.is(err) ? err : toFastpathError(err, 'INTERNAL');
    this.parser.stop();
    this.conn.write(encodeGoAway(e.code, `protocol error: ${e.message}`, this.lastAcceptedId()));
    this.closeReason = e;
    this.conn.close();
    this.terminate(e);
  }

  /** Ends the session now: the connection is destroyed if still open. */
  terminate(reason: FastpathError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason ??= reason;
    this.keepalive.stop();
    this.parser.stop();
    if (!this.conn.closed) this.conn.close();
    this.onClosed(this.closeReason);
  }
}
