import { FastpathError, ProtocolError } from '../protocol/errors.js';
import { encodeError, encodeResponse } from '../protocol/messages.js';
import { decodeSubjectBody, decodeSubscribe } from '../protocol/stream-messages.js';
import { checkPublishSubject, checkSubscribeSubject } from '../protocol/subject.js';
import type { FrameWriter } from './frame-session.js';
import type { Broker, BrokerSubscription, QueueLimits, SubscriptionOwner } from './broker.js';
import { limitError } from './limits.js';
import type { PeerInfo } from './server-call.js';

/** What an authorization hook threw, as the refusal sent to the client. */
function toRefusal(err: unknown): FastpathError {
  return FastpathError.is(err) ? err : new FastpathError('PERMISSION_DENIED', String((err as Error)?.message ?? err));
}

/**
 * Authorization hooks; return false (or throw a FastpathError) to refuse. `peer.auth` says who the
 * client authenticated as (its identity, method and claims).
 */
export interface PubSubAuth {
  /** May this peer subscribe to `subject` (in queue group `queue`)? Sync or async. */
  subscribe?: (subject: string, peer: PeerInfo, queue: string | undefined) => boolean | Promise<boolean>;
  /** May this peer publish to `subject`? Synchronous, so that publish order is kept. */
  publish?: (subject: string, peer: PeerInfo) => boolean;
}

export interface SlowConsumerInfo {
  subject: string;
  sid: number;
  policy: QueueLimits['policy'];
  /** Messages dropped since the queue last overflowed (drop-oldest). */
  dropped: number;
  /** Messages dropped on this subscription in total. */
  totalDropped: number;
}

interface Sub extends BrokerSubscription {
  pending: Buffer[];
  pendingBytes: number;
  /** Set while the queue is over its limit; the event fires once per crossing. */
  overflowing: boolean;
  dropped: number;
  totalDropped: number;
}

export interface SubscriptionsHost {
  broker: Broker;
  auth: PubSubAuth;
  limits: QueueLimits;
  /** Bytes queued on the connection above which events wait in their subscription's queue. */
  highWaterBytes: number;
  onSlowConsumer(info: SlowConsumerInfo): void;
  /** The disconnect policy fired: the session must end with this error. */
  disconnect(err: FastpathError): void;
  peer(): PeerInfo;
  /** Where frames for this connection go (counted, always the current channel). */
  conn(): FrameWriter;
  /** The highest id the client has used so far (to tell late frames from forged ones). */
  highestId(): number;
  /** The largest frame body the client accepts. */
  peerMaxFrameBytes(): number;
  /** Subscriptions one connection may hold (including those whose hook is still deciding). */
  maxSubscriptions: number;
  /** The refusal for new work while too many bytes wait unsent to this client, if so. */
  pendingRefusal(): FastpathError | undefined;
}

/**
 * One connection's subscriptions on the server: SUBSCRIBE / UNSUBSCRIBE / PUBLISH, and bounded
 * per-subscription queues that hold events while the connection is backpressured.
 */
export class ServerSubscriptions implements SubscriptionOwner {
  private readonly subs = new Map<number, Sub>();
  private readonly backlog = new Set<Sub>();
  /** Subscriptions whose authorization hook has not answered yet; false once withdrawn. */
  private readonly deciding = new Map<number, boolean>();
  private cleared = false;

  constructor(
    private readonly host: SubscriptionsHost,
    readonly echo: boolean,
  ) {}

  get count(): number {
    return this.subs.size;
  }

  /** Bytes held in subscription queues on this connection. */
  get queuedBytes(): number {
    let n = 0;
    for (const s of this.backlog) n += s.pendingBytes;
    return n;
  }

  onSubscribe(sid: number, body: Uint8Array): void {
    const conn = this.host.conn();
    const { subject, queue } = decodeSubscribe(body);
    if (this.subs.has(sid) || this.deciding.has(sid)) throw new ProtocolError('duplicate-id', `subscription id ${sid} is already in use`);
    try {
      checkSubscribeSubject(subject);
      if (queue !== undefined && !/^[^\s]{1,256}$/.test(queue)) {
        throw new FastpathError('INVALID_ARGUMENT', `invalid queue group "${queue}"`, { details: { reason: 'bad-queue' } });
      }
    } catch (err) {
      conn.write(encodeError(sid, err as FastpathError));
      return;
    }
    const max = this.host.maxSubscriptions;
    const overLimit =
      this.subs.size + this.deciding.size >= max
        ? limitError('max-subscriptions', `too many subscriptions on this connection (limit ${max})`, max, { subject })
        : this.host.pendingRefusal();
    if (overLimit) {
      conn.write(encodeError(sid, overLimit));
      return;
    }
    const denied = (): FastpathError => new FastpathError('PERMISSION_DENIED', `not allowed to subscribe to "${subject}"`, { details: { reason: 'subscribe-denied', subject } });
    // The hook's answer, now or later. Withdrawn (UNSUBSCRIBE) or the connection gone while the
    // hook was deciding: nothing is added and nothing is answered.
    const decide = (outcome: true | FastpathError): void => {
      const wanted = this.deciding.get(sid) ?? true;
      this.deciding.delete(sid);
      if (this.cleared || !wanted) return;
      if (outcome !== true) {
        conn.write(encodeError(sid, outcome));
        return;
      }
      const sub: Sub = { owner: this, sid, subject, queue, pending: [], pendingBytes: 0, overflowing: false, dropped: 0, totalDropped: 0 };
      this.subs.set(sid, sub);
      this.host.broker.add(sub);
      conn.write(encodeResponse(sid, undefined));
    };
    const hook = this.host.auth.subscribe;
    if (!hook) return decide(true);
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = hook(subject, this.host.peer(), queue);
    } catch (err) {
      decide(toRefusal(err));
      return;
    }
    if (typeof verdict === 'boolean') {
      decide(verdict ? true : denied());
      return;
    }
    this.deciding.set(sid, true);
    verdict.then(
      (ok) => decide(ok === true ? true : denied()),
      (err) => decide(toRefusal(err)),
    );
  }

  onUnsubscribe(sid: number): void {
    if (this.deciding.has(sid)) {
      this.deciding.set(sid, false);
      return;
    }
    const sub = this.subs.get(sid);
    if (!sub) {
      if (sid > this.host.highestId()) throw new ProtocolError('unknown-id', `UNSUBSCRIBE for subscription ${sid}, which was never created`);
      return; // already gone (refused, or a race with close)
    }
    this.drop(sub);
  }

  onPublish(id: number, body: Uint8Array): void {
    const conn = this.host.conn();
    // Decoded in full so a malformed payload is refused here, not at every subscriber.
    const { subject } = decodeSubjectBody(body, 'PUBLISH');
    let refusal: FastpathError | undefined;
    try {
      checkPublishSubject(subject);
      const hook = this.host.auth.publish;
      if (hook && hook(subject, this.host.peer()) !== true) {
        refusal = new FastpathError('PERMISSION_DENIED', `not allowed to publish to "${subject}"`, { details: { reason: 'publish-denied', subject } });
      }
    } catch (err) {
      refusal = toRefusal(err);
    }
    // An acknowledged publish adds an answer for a client that may not be reading.
    if (!refusal && id !== 0) refusal = this.host.pendingRefusal();
    if (refusal) {
      // id 0: a fire-and-forget publish; the client reports the ERROR as an 'error' event.
      conn.write(encodeError(id, id === 0 ? new FastpathError(refusal.code, refusal.message, { details: { ...refusal.details, reason: 'publish-refused' } }) : refusal));
      return;
    }
    this.host.broker.publishBody(subject, body, this);
    if (id !== 0) conn.write(encodeResponse(id, undefined));
  }

  deliver(bsub: BrokerSubscription, frame: Buffer): void {
    const sub = bsub as Sub;
    const conn = this.host.conn();
    if (conn.closed) return;
    const size = frame.length - 12;
    if (size > this.host.peerMaxFrameBytes()) {
      // The subscriber could not read it: skip it and tell the subscriber, keep the connection.
      conn.write(
        encodeError(0, new FastpathError('RESOURCE_EXHAUSTED', `a message on "${sub.subject}" was not delivered: ${size} bytes is over this connection's maxFrameBytes ${this.host.peerMaxFrameBytes()}`, {
          details: { reason: 'event-too-large', subject: sub.subject, sid: sub.sid, size, limit: this.host.peerMaxFrameBytes() },
        })),
      );
      return;
    }
    // bufferedBytes on the hot path; pendingBytes (which asks for onDrain) only when holding events.
    if (sub.pending.length === 0 && (conn.bufferedBytes ?? conn.pendingBytes) < this.host.highWaterBytes) {
      conn.write(frame);
      return;
    }
    if (conn.pendingBytes === 0) queueMicrotask(() => this.onWritable()); // drained meanwhile: no onDrain will come
    sub.pending.push(frame);
    sub.pendingBytes += frame.length;
    this.backlog.add(sub);
    const { maxMessages, maxBytes, policy } = this.host.limits;
    if (sub.pending.length <= maxMessages && sub.pendingBytes <= maxBytes) return;
    if (policy === 'disconnect') {
      this.host.onSlowConsumer({ subject: sub.subject, sid: sub.sid, policy, dropped: 0, totalDropped: sub.totalDropped });
      this.host.disconnect(
        new FastpathError('RESOURCE_EXHAUSTED', `slow consumer: subscription to "${sub.subject}" exceeded ${maxMessages} messages or ${maxBytes} bytes`, {
          details: { reason: 'slow-consumer', subject: sub.subject, limit: maxMessages },
        }),
      );
      return;
    }
    let droppedNow = 0;
    while (sub.pending.length > maxMessages || sub.pendingBytes > maxBytes) {
      sub.pendingBytes -= sub.pending.shift()!.length;
      droppedNow++;
    }
    sub.dropped += droppedNow;
    sub.totalDropped += droppedNow;
    if (!sub.overflowing) {
      sub.overflowing = true;
      queueMicrotask(() => {
        this.host.onSlowConsumer({ subject: sub.subject, sid: sub.sid, policy, dropped: sub.dropped, totalDropped: sub.totalDropped });
      });
    }
  }

  /** The connection drained: send queued events, round-robin across subscriptions. */
  onWritable(): void {
    const conn = this.host.conn();
    while (this.backlog.size > 0 && !conn.closed && conn.pendingBytes < this.host.highWaterBytes) {
      for (const sub of this.backlog) {
        const frame = sub.pending.shift();
        if (frame) {
          sub.pendingBytes -= frame.length;
          conn.write(frame);
        }
        if (sub.pending.length === 0) {
          this.backlog.delete(sub);
          sub.overflowing = false;
          sub.dropped = 0;
        }
      }
    }
  }

  private drop(sub: Sub): void {
    this.subs.delete(sub.sid);
    this.backlog.delete(sub);
    sub.pending = [];
    sub.pendingBytes = 0;
    this.host.broker.remove(sub);
  }

  /** The connection ended: forget every subscription. */
  clear(): void {
    this.cleared = true;
    this.deciding.clear();
    for (const sub of [...this.subs.values()]) this.drop(sub);
  }
}
