import { FastpathError, ProtocolError, toFastpathError } from '../protocol/errors.js';
import { FrameType } from '../protocol/frame.js';
import { FrameParser } from '../protocol/frame-parser.js';
import { encodeEmpty, encodeGoAway } from '../protocol/messages.js';
import { encodeUpgradeAck } from '../protocol/upgrade-messages.js';
import type { Connection, Tier } from '../transport/types.js';
import { Keepalive, type KeepaliveOptions } from './keepalive.js';
import { CallStats } from '../observe/call-stats.js';

export interface FrameSessionOptions {
  maxFrameBytes: number;
  keepalive: KeepaliveOptions;
}

/** What a helper needs to write frames for a session. */
export type FrameWriter = Pick<Connection, 'write' | 'pendingBytes' | 'bufferedBytes' | 'closed'>;

export type SessionState = 'handshake' | 'open' | 'draining' | 'closed';

type StagedFrame = [type: number, flags: number, id: number, body: Uint8Array];

/**
 * What client and server sessions share: channels, frame parsing, PING/PONG keepalive, protocol
 * violations turned into GOAWAY + close, the fast-path channel switch, and one close path.
 *
 * A session starts on one channel (the connection the client opened). A fast-path upgrade adds a
 * second channel and switches each direction at an exact frame boundary: a side sends
 * UPGRADE_ACK {switch} as its last frame on the old channel and everything after it on the new
 * one; the receiver holds frames from the new channel until it has read that marker from the old
 * one. Nothing is lost or reordered. The old channel then stays open, idle, as the liveness
 * channel: if either channel closes, the session ends.
 */
export abstract class FrameSession {
  state: SessionState = 'handshake';
  /** The channel frames are written to. */
  protected conn: Connection;
  /** The channel frames are read from. */
  private reading: Connection;
  /** A new channel whose frames are held until the peer's switch marker arrives. */
  private staged: { conn: Connection; frames: StagedFrame[] } | null = null;
  private readonly channels = new Set<Connection>();
  private readonly parsers = new Map<Connection, FrameParser>();
  protected readonly keepalive: Keepalive;
  /** Why the session closed, once it has. */
  closeReason: FastpathError | undefined;
  /** The peer and this end of the connection the session began on (it may move to a faster channel). */
  readonly remote: string;
  readonly local: string;
  /** The tier of that first connection (a move to another is an upgrade). */
  readonly firstTier: Tier;
  /** Calls on this connection: counters and a latency histogram (`metrics()`); replaced by the owner's settings. */
  stats = new CallStats(true);
  /** When the chunk being parsed arrived (performance.now()), while latency is recorded. */
  protected receivedAt: number | undefined;
  /** Bytes received and sent by this session, over all its channels (frames, headers included). */
  readonly bytes = { in: 0, out: 0 };
  private resolveDrained!: () => void;
  /** Resolves once the session has ended and every channel has closed. */
  readonly drained: Promise<void> = new Promise((resolve) => {
    this.resolveDrained = resolve;
  });

  constructor(
    conn: Connection,
    protected readonly options: FrameSessionOptions,
  ) {
    this.conn = conn;
    this.reading = conn;
    this.remote = conn.remote;
    this.local = conn.local;
    this.firstTier = conn.tier;
    this.keepalive = new Keepalive(
      options.keepalive,
      (seq) => this.send(encodeEmpty(FrameType.PING, seq)),
      (silentMs) => this.terminate(new FastpathError('UNAVAILABLE', `peer did not answer keepalive for ${silentMs} ms`, { details: { reason: 'keepalive-timeout' } })),
    );
    this.bind(conn);
  }

  /**
   * The current channel, for helpers that write on the session's behalf: writes are counted in
   * `bytes.out` and always go to whichever channel is current.
   */
  protected readonly out: FrameWriter = ((self: FrameSession): FrameWriter => ({
    write: (bytes) => self.send(bytes),
    get pendingBytes() {
      return self.conn.pendingBytes;
    },
    get bufferedBytes() {
      return self.conn.bufferedBytes ?? self.conn.pendingBytes;
    },
    get closed() {
      return self.conn.closed;
    },
  }))(this);

  /** Writes frames on the current channel, counted in `bytes.out`. */
  protected send(frames: Uint8Array): void {
    this.bytes.out += frames.length;
    this.conn.write(frames);
  }

  /** The tier frames are written on. */
  get tier(): Tier {
    return this.conn.tier;
  }

  /** Attaches a channel: its bytes are parsed, and its closing ends the session. */
  private bind(conn: Connection, leftover?: Uint8Array): void {
    this.channels.add(conn);
    const parser = new FrameParser((type, flags, id, body) => this.fromChannel(conn, type, flags, id, body), this.options.maxFrameBytes);
    this.parsers.set(conn, parser);
    conn.onData = (chunk) => {
      this.bytes.in += chunk.length;
      // One clock reading per chunk: every frame in it arrived at this instant (call latency).
      if (this.stats.timing) this.receivedAt = performance.now();
      this.keepalive.markReceived();
      try {
        parser.push(chunk);
      } catch (err) {
        this.protocolFailure(err);
      }
    };
    conn.onClose = (err) => this.channelClosed(conn, err);
    conn.onDrain = () => {
      if (conn === this.conn && this.state !== 'closed') this.onWritable();
    };
    if (leftover && leftover.length > 0) conn.onData(leftover);
  }

  private fromChannel(conn: Connection, type: number, flags: number, id: number, body: Uint8Array): void {
    if (this.state === 'closed') return;
    if (conn === this.reading) {
      this.dispatch(type, flags, id, body);
      return;
    }
    if (this.staged && conn === this.staged.conn) {
      // The body is a view of the receive buffer: keep a copy until the switch.
      this.staged.frames.push([type, flags, id, Buffer.from(body)]);
      return;
    }
    throw new ProtocolError('retired-channel', `frame type ${type} arrived on a channel this session no longer reads`);
  }

  private dispatch(type: number, flags: number, id: number, body: Uint8Array): void {
    if (!this.admitFrame()) return;
    if (type === FrameType.PING) {
      this.send(encodeEmpty(FrameType.PONG, id));
      return;
    }
    if (type === FrameType.PONG) return;
    this.onFrame(type, flags, id, body);
  }

  private channelClosed(conn: Connection, err: Error | undefined): void {
    this.parsers.get(conn)?.stop();
    this.parsers.delete(conn);
    this.channels.delete(conn);
    if (this.state === 'closed') {
      if (this.channels.size === 0) this.resolveDrained();
      return;
    }
    if (this.staged?.conn === conn) {
      // A channel that never carried traffic went away: the upgrade failed, the session stays.
      this.staged = null;
      this.onStagedLost(err);
      return;
    }
    this.terminate(
      this.closeReason ??
        // A transport that knows why it closed says so with a FastpathError (TLS: 'tls-failed').
        (FastpathError.is(err)
          ? err
          : new FastpathError('UNAVAILABLE', err ? `connection lost: ${(err as NodeJS.ErrnoException).code ?? err.message}` : 'connection closed by peer', {
              cause: err,
              details: { reason: err ? 'connection-error' : 'peer-closed' },
            })),
    );
  }

  /** Starts reading a new channel, holding its frames until the peer's switch marker. */
  protected stageChannel(conn: Connection, leftover?: Uint8Array): void {
    if (this.staged) this.staged.conn.destroy();
    this.staged = { conn, frames: [] };
    this.bind(conn, leftover);
  }

  /** Drops a staged channel (the upgrade was abandoned). */
  protected dropStaged(): void {
    const s = this.staged;
    if (!s) return;
    this.staged = null;
    this.channels.delete(s.conn);
    s.conn.onClose = null;
    s.conn.destroy();
  }

  protected get hasStaged(): boolean {
    return this.staged !== null;
  }

  /** Sends the switch marker on the current channel and writes everything after it on the staged one. */
  protected switchWrites(): void {
    if (!this.staged) throw new ProtocolError('bad-upgrade', 'no new channel to switch to');
    this.send(encodeUpgradeAck({ switch: true }));
    this.conn = this.staged.conn;
  }

  /** The peer's switch marker arrived: read the staged channel from now on, held frames first. */
  protected switchReads(): void {
    const s = this.staged;
    if (!s) throw new ProtocolError('bad-upgrade', 'switch marker without a new channel');
    this.staged = null;
    this.reading = s.conn;
    for (const [type, flags, id, body] of s.frames) {
      if (this.state === 'closed') return;
      this.dispatch(type, flags, id, body);
    }
  }

  protected abstract onFrame(type: number, flags: number, id: number, body: Uint8Array): void;

  /** Called exactly once, when the session ends for any reason. */
  protected abstract onClosed(reason: FastpathError): void;

  /** The write channel drained after backpressure. */
  protected onWritable(): void {}

  /** Runs before every frame is handled; false drops it (the server's pending-bytes limit closes the session here). */
  protected admitFrame(): boolean {
    return true;
  }

  /** Ends the session because of `err` (not a protocol violation), telling the peer why in GOAWAY. */
  protected protocolFailureWith(err: FastpathError): void {
    this.goAwayAndEnd(err, err.message, err.details);
  }

  /** Tells the peer why in GOAWAY, then ends the session with `err`. */
  private goAwayAndEnd(err: FastpathError, message: string, details?: FastpathError['details']): void {
    if (this.state === 'closed') return;
    this.send(encodeGoAway(err.code, message, this.lastAcceptedId(), details));
    this.closeReason = err;
    this.terminate(err);
  }

  /** A staged channel closed before the switch. */
  protected onStagedLost(_err: Error | undefined): void {}

  /** The highest request id this side has accepted, reported in GOAWAY. */
  protected lastAcceptedId(): number {
    return 0;
  }

  /**
   * A protocol violation by the peer: tell it why in GOAWAY, close, and end the session.
   * Non-protocol errors reaching here are bugs in a frame handler and are reported as INTERNAL.
   */
  protected protocolFailure(err: unknown): void {
    const e = ProtocolError.is(err) ? err : toFastpathError(err, 'INTERNAL');
    this.goAwayAndEnd(e, `protocol error: ${e.message}`);
  }

  /** Ends the session now: every channel is closed (queued frames are flushed first). */
  terminate(reason: FastpathError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason ??= reason;
    this.keepalive.stop();
    for (const p of this.parsers.values()) p.stop();
    this.staged = null;
    for (const c of [...this.channels]) {
      if (c.closed) this.channels.delete(c);
      else c.close();
    }
    if (this.channels.size === 0) this.resolveDrained();
    this.onClosed(this.closeReason);
  }
}
