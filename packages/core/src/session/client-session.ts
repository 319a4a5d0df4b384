import { FastpathError } from '../protocol/errors.js';
import { FrameType, HEADER_BYTES, MAX_ID } from '../protocol/frame.js';
import { AGENT, decodeWelcome, encodeHello, PROTOCOL_VERSIONS, type Welcome } from '../protocol/handshake.js';
import { decodeError, decodeGoAway, decodeResponse, encodeEmpty, encodeRequest, type GoAway, type Metadata } from '../protocol/messages.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeUpgrade, decodeUpgradeAck, encodeUpgradeAck, parseWelcomeFastPath, type HelloFastPath, type UpgradeOffer } from '../protocol/upgrade-messages.js';
import type { Connection, Tier } from '../transport/types.js';
import { getUpgradeTier, type TierOptions } from '../transport/upgrade-tier.js';
import { budgetMs, isExpired, onDeadline, type Deadline } from './deadline.js';
import { ClientStream, type StreamKind } from './client-stream.js';
import { FrameType as FT, RequestFlag } from '../protocol/frame.js';
import { decodeCredit, decodeStreamData, decodeSubjectBody, encodeSubjectBody, encodeSubscribe, headerFor } from '../protocol/stream-messages.js';

/** Where a subscription's events go, at the API level (it outlives a connection). */
export interface SubscriptionSink {
  /** The server accepted the SUBSCRIBE. */
  onReady(): void;
  /** The server refused it (INVALID_ARGUMENT, PERMISSION_DENIED...). */
  onRefused(err: FastpathError): void;
  onEvent(subject: string, payload: unknown, bytes: number): void;
  /** The connection ended. */
  onSessionClosed(reason: FastpathError): void;
}
import { FrameSession, type FrameSessionOptions } from './frame-session.js';
import type { FastPathMode, PathInfo } from './upgrade.js';

/** The client's fast-path settings for one connection. */
export interface ClientFastPath {
  mode: FastPathMode;
  host: string;
  uid: number;
  /** Tiers this client can attach to, fastest first. */
  tiers: Tier[];
  /** Why known tiers are missing from `tiers`. */
  unavailable: Record<string, string>;
  tierOptions: Record<string, TierOptions>;
  upgradeTimeoutMs: number;
}

export interface ClientSessionOptions extends FrameSessionOptions {
  handshakeTimeoutMs: number;
  /** Sent in HELLO as connection-level metadata. */
  helloMeta?: Record<string, string>;
  /** Extra HELLO fields (used by later protocol features). */
  helloExtra?: Record<string, unknown>;
  fastPath: ClientFastPath;
}

export interface ClientSessionEvents {
  onGoAway?: (g: GoAway) => void;
  onClose?: (reason: FastpathError) => void;
  onPath?: (info: PathInfo) => void;
  /** A connection-level ERROR (id 0), e.g. a refused fire-and-forget publish. */
  onError?: (err: FastpathError) => void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: FastpathError) => void;
  cancelTimer: (() => void) | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The client end of one connection: the handshake, request ids, pending calls, deadlines and
 * cancellation. Many calls are multiplexed on the connection by request id.
 */
export class ClientSession extends FrameSession {
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, ClientStream>();
  private readonly subs = new Map<number, SubscriptionSink>();
  private nextId = 1;
  private wrapped = false;
  private peerMaxFrameBytes = 0;
  private readyResolve!: (w: Welcome) => void;
  private readyReject!: (e: FastpathError) => void;
  readonly ready: Promise<Welcome>;
  welcome: Welcome | undefined;
  events: ClientSessionEvents = {};
  private drainLastId = MAX_ID;
  /** Where the connection runs, and why not faster. Final once `pathSettled` resolves. */
  pathInfo: PathInfo;
  private settlePath!: (info: PathInfo) => void;
  /** Resolves when the fast-path negotiation has finished, either way. */
  readonly pathSettled: Promise<PathInfo>;
  private pathDone = false;
  private upgradeTimer: NodeJS.Timeout | undefined;
  /** Why the server skipped faster tiers, when it offered a slower one. */
  private offerReason: string | undefined;
  /** An attach to an offered tier is in progress. */
  private attaching = false;

  constructor(conn: Connection, private readonly clientOptions: ClientSessionOptions) {
    super(conn, clientOptions);
    this.pathInfo = { path: conn.tier, reason: 'negotiating' };
    this.pathSettled = new Promise((resolve) => {
      this.settlePath = resolve;
    });
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    const t = setTimeout(() => {
      if (this.state === 'handshake') {
        this.terminate(new FastpathError('UNAVAILABLE', `no WELCOME from ${conn.remote} within ${clientOptions.handshakeTimeoutMs} ms`, { details: { reason: 'handshake-timeout' } }));
      }
    }, clientOptions.handshakeTimeoutMs);
    t.unref();
    this.ready.then(() => clearTimeout(t), () => clearTimeout(t));
    const fp = clientOptions.fastPath;
    const helloFastPath: HelloFastPath | undefined =
      fp.mode === 'off' ? undefined : { mode: fp.mode, host: fp.host, uid: fp.uid, tiers: fp.tiers, unavailable: fp.unavailable };
    conn.write(
      encodeHello({
        ...clientOptions.helloExtra,
        versions: [...PROTOCOL_VERSIONS],
        agent: AGENT,
        caps: [],
        maxFrameBytes: clientOptions.maxFrameBytes,
        ...(clientOptions.helloMeta ? { meta: clientOptions.helloMeta } : {}),
        ...(helloFastPath ? { fastPath: helloFastPath } : {}),
      }),
    );
  }

  /** Ends the negotiation: records the path, tells listeners, enforces fastPath 'require'. */
  private settle(info: PathInfo): void {
    if (this.pathDone) return;
    this.pathDone = true;
    if (this.upgradeTimer) clearTimeout(this.upgradeTimer);
    this.pathInfo = info;
    this.settlePath(info);
    this.events.onPath?.(info);
    if (this.clientOptions.fastPath.mode === 'require' && (info.path === 'tcp' || info.path === 'tcp-fastpath') && this.state !== 'closed') {
      this.terminate(new FastpathError('FAILED_PRECONDITION', `fast path required, but the connection stays on ${info.path}: ${info.reason ?? 'unknown reason'}`, { details: { reason: 'fast-path-required' } }));
    }
  }

  /** Abandons an upgrade in progress and stays on the current tier. */
  private abandonUpgrade(reason: string, tellServer: boolean): void {
    this.dropStaged();
    if (tellServer && this.state !== 'closed') this.conn.write(encodeUpgradeAck({ fail: reason }));
    this.settle({ path: this.tier, reason });
  }

  private async attach(offer: UpgradeOffer): Promise<void> {
    const fp = this.clientOptions.fastPath;
    const impl = getUpgradeTier(offer.tier);
    if (!impl || !fp.tiers.includes(offer.tier as Tier)) {
      this.abandonUpgrade(`attach failed: tier ${offer.tier} is not available on this client`, true);
      return;
    }
    let channel: Connection;
    try {
      channel = await impl.attach(offer.params, fp.tierOptions[offer.tier] ?? {});
    } catch (err) {
      if (this.state !== 'closed') this.abandonUpgrade(`attach failed: ${(err as Error).message}`, true);
      return;
    }
    if (this.state === 'closed' || this.pathDone) {
      channel.destroy();
      return;
    }
    this.stageChannel(channel);
    // Prove the nonce on the new channel; the server answers by switching its writes to it.
    channel.write(encodeUpgradeAck({ attach: offer.nonce }));
  }

  protected override onStagedLost(err: Error | undefined): void {
    if (!this.pathDone) this.abandonUpgrade(`attach failed: the server closed the new channel${err ? ` (${err.message})` : ''}`, true);
  }

  get inFlight(): number {
    return this.pending.size + this.streams.size;
  }

  /** Whether `id` was ever allocated here (a frame for an id never used is a protocol error). */
  private known(id: number): boolean {
    return this.wrapped || (id > 0 && id < this.nextId);
  }

  protected onFrame(type: number, _flags: number, id: number, body: Uint8Array): void {
    switch (type) {
      case FrameType.RESPONSE: {
        const p = this.take(id);
        if (p) p.resolve(decodeResponse(body));
        else if (this.streams.has(id)) this.streams.get(id)!.onResponse(decodeResponse(body));
        else if (this.subs.has(id)) this.subs.get(id)!.onReady();
        else if (!this.known(id)) throw new ProtocolError('unknown-id', `RESPONSE for id ${id}, which was never used`);
        break;
      }
      case FrameType.ERROR: {
        const err = decodeError(body);
        if (id === 0) {
          this.events.onError?.(err);
          return;
        }
        const p = this.take(id);
        if (p) p.reject(err);
        else if (this.streams.has(id)) this.streams.get(id)!.fail(err, false);
        else if (this.subs.has(id)) {
          const sink = this.subs.get(id)!;
          this.subs.delete(id);
          sink.onRefused(err);
        }
        break;
      }
      case FrameType.STREAM_DATA:
        this.stream(id)?.onData(decodeStreamData(body));
        break;
      case FrameType.STREAM_END:
        this.stream(id)?.onEnd();
        break;
      case FrameType.CREDIT:
        this.stream(id)?.onCredit(decodeCredit(body));
        break;
      case FrameType.EVENT: {
        const sink = this.subs.get(id);
        if (sink) {
          const { subject, payload } = decodeSubjectBody(body, 'EVENT');
          sink.onEvent(subject, payload, body.length);
        } else if (!this.known(id)) throw new ProtocolError('unknown-id', `EVENT for subscription ${id}, which was never created`);
        break;
      }
      case FrameType.WELCOME:
        if (this.state !== 'handshake') throw new ProtocolError('unexpected-frame', 'WELCOME after the handshake');
        {
          const welcome = decodeWelcome(body);
          if (!PROTOCOL_VERSIONS.includes(welcome.version)) {
            throw new ProtocolError('bad-handshake', `server chose protocol version ${welcome.version}, which was not offered`);
          }
          this.welcome = welcome;
        }
        this.peerMaxFrameBytes = this.welcome.maxFrameBytes;
        this.state = 'open';
        this.keepalive.start();
        this.readyResolve(this.welcome);
        this.onWelcomeFastPath(parseWelcomeFastPath(this.welcome.fastPath));
        break;
      case FrameType.UPGRADE:
        if (this.pathDone || this.hasStaged || this.attaching) throw new ProtocolError('bad-upgrade', 'unexpected UPGRADE');
        this.attaching = true;
        void this.attach(decodeUpgrade(body)).finally(() => {
          this.attaching = false;
        });
        break;
      case FrameType.UPGRADE_ACK: {
        const ack = decodeUpgradeAck(body);
        if ('switch' in ack) {
          // The server writes on the new channel from now on. Move our writes (marker last on the
          // old channel), then read the new channel, starting with the frames held for the switch.
          this.switchWrites();
          this.switchReads();
          this.settle(this.offerReason ? { path: this.tier, reason: this.offerReason } : { path: this.tier });
        } else if ('fail' in ack) {
          this.abandonUpgrade(ack.fail, false);
        } else {
          throw new ProtocolError('bad-upgrade', 'a client does not accept UPGRADE_ACK {attach}');
        }
        break;
      }
      case FrameType.GOAWAY:
        this.onGoAway(decodeGoAway(body));
        break;
      default:
        throw new ProtocolError('unexpected-frame', `a client does not accept frame type ${type}`);
    }
  }

  private onWelcomeFastPath(w: { offer: boolean; tier?: string; reason?: string }): void {
    if (this.clientOptions.fastPath.mode === 'off') {
      this.settle({ path: this.tier, reason: 'fastPath is off for this connection' });
    } else if (!w.offer) {
      this.settle({ path: this.tier, reason: w.reason ?? 'the server made no offer' });
    } else {
      this.offerReason = w.reason;
      this.upgradeTimer = setTimeout(() => {
        // Once the new channel is attached and the nonce sent, only the server decides: it either
        // switches or closes that channel (which abandons the upgrade safely). Giving up here
        // could race with a switch already on its way.
        if (!this.pathDone && !this.hasStaged) this.abandonUpgrade(`attach failed: no switch within ${this.clientOptions.fastPath.upgradeTimeoutMs} ms`, true);
      }, this.clientOptions.fastPath.upgradeTimeoutMs);
      this.upgradeTimer.unref();
    }
  }

  private onGoAway(g: GoAway): void {
    if (this.state === 'handshake') {
      // Refused during the handshake (e.g. version mismatch): surface the server's reason.
      this.closeReason = new FastpathError(g.code === 'OK' ? 'UNAVAILABLE' : g.code, g.message, { remote: true, details: { reason: 'goaway' } });
      this.terminate(this.closeReason);
      return;
    }
    if (g.code !== 'OK') {
      this.closeReason = new FastpathError('UNAVAILABLE', `server closed the connection: ${g.message}`, { remote: true, details: { reason: 'goaway', goawayCode: g.code } });
    }
    this.state = 'draining';
    this.drainLastId = g.lastId;
    // Calls the server never accepted will not be answered: fail them now, safe to retry elsewhere.
    for (const [id, p] of this.pending) {
      if (id > g.lastId) {
        this.take(id);
        p.reject(new FastpathError('UNAVAILABLE', `server is going away and did not accept this call: ${g.message}`, { details: { reason: 'goaway' } }));
      }
    }
    this.events.onGoAway?.(g);
    this.closeIfDrained();
  }

  /** The stream for a frame's id; undefined for a late frame; throws for an id never used. */
  private stream(id: number): ClientStream | undefined {
    const st = this.streams.get(id);
    if (!st && !this.known(id)) throw new ProtocolError('unknown-id', `stream frame for id ${id}, which was never opened`);
    return st;
  }

  private closeIfDrained(): void {
    if (this.state === 'draining' && this.pending.size === 0 && this.streams.size === 0) {
      this.terminate(this.closeReason ?? new FastpathError('UNAVAILABLE', 'server closed the connection (GOAWAY)', { details: { reason: 'goaway' } }));
    }
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined; // a late answer to a call that already ended here
    this.pending.delete(id);
    p.cancelTimer?.();
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    if (this.state === 'draining') queueMicrotask(() => this.closeIfDrained());
    return p;
  }

  private allocateId(): number {
    let id = this.nextId;
    while (this.pending.has(id) || this.streams.has(id) || this.subs.has(id)) id = id >= MAX_ID ? 1 : id + 1;
    if (id >= MAX_ID) this.wrapped = true;
    this.nextId = id >= MAX_ID ? 1 : id + 1;
    return id;
  }

  /** Throws why a new call cannot start now (closed, draining, aborted, expired). */
  private checkCanStart(method: string, deadline: Deadline | undefined, signal: AbortSignal | undefined): void {
    if (this.state !== 'open') {
      const why = this.state === 'draining' ? 'the connection is draining after GOAWAY' : this.closeReason?.message ?? 'the connection is not open';
      throw new FastpathError('UNAVAILABLE', `cannot call ${method}: ${why}`, { details: { reason: this.state } });
    }
    if (signal?.aborted) throw cancelledError(method, signal);
    if (isExpired(deadline)) throw new FastpathError('DEADLINE_EXCEEDED', `deadline for ${method} passed before it was sent`, { details: { budgetMs: 0 } });
  }

  /** Opens a streaming call. Throws (synchronously) when it cannot start. */
  openStream(method: string, kind: StreamKind, payload: unknown, deadline: Deadline | undefined, metadata: Metadata | undefined, signal: AbortSignal | undefined): ClientStream {
    this.checkCanStart(method, deadline, signal);
    const id = this.allocateId();
    const flags = (kind === 'server-stream' ? 0 : RequestFlag.CLIENT_STREAM) | (kind === 'client-stream' ? 0 : RequestFlag.SERVER_STREAM);
    const frame = encodeRequest(id, method, budgetMs(deadline), metadata, kind === 'server-stream' ? payload : null, flags);
    const st = new ClientStream(
      {
        write: (f) => this.conn.write(f),
        cancel: (sid) => this.sendCancel(sid),
        release: (sid) => {
          this.streams.delete(sid);
          if (this.state === 'draining') queueMicrotask(() => this.closeIfDrained());
        },
      },
      id,
      method,
      kind,
    );
    let cancelTimer: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    if (deadline !== undefined) {
      const budget = budgetMs(deadline);
      cancelTimer = onDeadline(deadline, () =>
        st.fail(new FastpathError('DEADLINE_EXCEEDED', `${method} did not finish within its deadline (${budget} ms)`, { details: { budgetMs: budget } }), true),
      );
    }
    if (signal) {
      onAbort = () => st.fail(cancelledError(method, signal), true);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    st.cleanup = () => {
      cancelTimer?.();
      if (onAbort) signal!.removeEventListener('abort', onAbort);
    };
    this.streams.set(id, st);
    this.conn.write(frame);
    return st;
  }

  /** Sends SUBSCRIBE; events go to `sink`. Returns the subscription id on this connection. */
  subscribe(subject: string, queue: string | undefined, sink: SubscriptionSink): number {
    if (this.state !== 'open') throw new FastpathError('UNAVAILABLE', `cannot subscribe to ${subject}: the connection is not open`);
    const sid = this.allocateId();
    this.subs.set(sid, sink);
    this.conn.write(encodeSubscribe(sid, queue === undefined ? { subject } : { subject, queue }));
    return sid;
  }

  unsubscribe(sid: number): void {
    if (!this.subs.delete(sid)) return;
    if (this.state === 'open' || this.state === 'draining') this.conn.write(encodeEmpty(FrameType.UNSUBSCRIBE, sid));
  }

  /**
   * Sends PUBLISH. With `ack`, resolves when the server has routed it (or rejects with its
   * refusal); without, returns at once and a refusal arrives as a connection-level error.
   */
  publish(subject: string, payload: unknown, ack: boolean): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new FastpathError('UNAVAILABLE', `cannot publish to ${subject}: the connection is not open`));
    let body: Uint8Array;
    try {
      body = encodeSubjectBody(subject, payload);
    } catch (err) {
      return Promise.reject(new FastpathError('INVALID_ARGUMENT', `message for ${subject} cannot be serialized: ${(err as Error).message}`, { cause: err }));
    }
    if (body.length > this.peerMaxFrameBytes) {
      return Promise.reject(new FastpathError('RESOURCE_EXHAUSTED', `message for ${subject} is ${body.length} bytes, over the server's maxFrameBytes ${this.peerMaxFrameBytes}`, { details: { limit: this.peerMaxFrameBytes, size: body.length } }));
    }
    const id = ack ? this.allocateId() : 0;
    const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    headerFor(FT.PUBLISH, id, body.length).copy(frame, 0);
    frame.set(body, HEADER_BYTES);
    if (!ack) {
      this.conn.write(frame);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve: () => resolve(), reject, cancelTimer: undefined, signal: undefined, onAbort: undefined });
      this.conn.write(frame);
    });
  }

  /**
   * Sends one unary call. Resolves with the decoded response or rejects with a FastpathError:
   * the server's error, DEADLINE_EXCEEDED, CANCELLED, or UNAVAILABLE when the connection ends.
   */
  call(method: string, payload: unknown, deadline: Deadline | undefined, metadata: Metadata | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    try {
      this.checkCanStart(method, deadline, signal);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.allocateId();
    let frame: Buffer;
    try {
      frame = encodeRequest(id, method, budgetMs(deadline), metadata, payload);
    } catch (err) {
      return Promise.reject(new FastpathError('INVALID_ARGUMENT', `request for ${method} cannot be serialized: ${(err as Error).message}`, { cause: err }));
    }
    if (frame.length - HEADER_BYTES > this.peerMaxFrameBytes) {
      return Promise.reject(
        new FastpathError('RESOURCE_EXHAUSTED', `request for ${method} is ${frame.length - HEADER_BYTES} bytes, over the server's maxFrameBytes ${this.peerMaxFrameBytes}`, {
          details: { reason: 'frame-too-large', limit: this.peerMaxFrameBytes, size: frame.length - HEADER_BYTES },
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, cancelTimer: undefined, signal: undefined, onAbort: undefined };
      if (deadline !== undefined) {
        const budget = budgetMs(deadline);
        p.cancelTimer = onDeadline(deadline, () => {
          if (this.take(id) === undefined) return;
          this.sendCancel(id);
          reject(new FastpathError('DEADLINE_EXCEEDED', `${method} did not finish within its deadline (${budget} ms)`, { details: { budgetMs: budget } }));
        });
      }
      if (signal) {
        p.signal = signal;
        p.onAbort = () => {
          if (this.take(id) === undefined) return;
          this.sendCancel(id);
          reject(cancelledError(method, signal));
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.set(id, p);
      this.conn.write(frame);
    });
  }

  private sendCancel(id: number): void {
    if (this.state === 'open' || this.state === 'draining') this.conn.write(encodeEmpty(FrameType.CANCEL, id));
  }

  /** Closes the connection; pending calls fail with `reason` (CANCELLED for client.close()). */
  close(reason: FastpathError): void {
    this.closeReason ??= reason;
    this.terminate(reason);
  }

  protected onClosed(reason: FastpathError): void {
    if (!this.welcome) this.readyReject(reason);
    if (!this.pathDone) {
      this.pathDone = true;
      if (this.upgradeTimer) clearTimeout(this.upgradeTimer);
      this.settlePath(this.pathInfo);
    }
    const failWith = reason.code === 'CANCELLED' ? reason : new FastpathError('UNAVAILABLE', reason.message, { cause: reason, details: reason.details });
    for (const id of [...this.pending.keys()]) this.take(id)?.reject(failWith);
    for (const st of [...this.streams.values()]) st.fail(failWith, false);
    for (const sink of [...this.subs.values()]) sink.onSessionClosed(reason);
    this.subs.clear();
    this.events.onClose?.(reason);
  }
}

function cancelledError(method: string, signal: AbortSignal): FastpathError {
  const r: unknown = signal.reason;
  const why = r instanceof Error ? r.message : r === undefined ? 'aborted' : String(r);
  return new FastpathError('CANCELLED', `${method} was cancelled: ${why}`, { cause: r });
}
