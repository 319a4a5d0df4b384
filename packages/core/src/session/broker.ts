import { FrameType, HEADER_BYTES, writeHeader } from '../protocol/frame.js';
import { encodeSubjectBody } from '../protocol/stream-messages.js';
import { SubjectIndex } from './subject-index.js';

/** What happens when a subscription's queue is full. */
export type SlowConsumerPolicy = 'drop-oldest' | 'disconnect';

export interface QueueLimits {
  /** Messages a subscription may have waiting (default 10 000). */
  maxMessages: number;
  /** Bytes a subscription may have waiting (default 16 MiB). */
  maxBytes: number;
  policy: SlowConsumerPolicy;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = { maxMessages: 10_000, maxBytes: 16 * 1024 * 1024, policy: 'drop-oldest' };

/** Where events for one subscription go: implemented by the server session that owns it. */
export interface SubscriptionOwner {
  /** Delivers one EVENT frame (or queues it, within limits). */
  deliver(sub: BrokerSubscription, frame: Buffer): void;
  /** False when the owner asked not to receive its own publishes. */
  readonly echo: boolean;
}

export interface BrokerSubscription {
  readonly owner: SubscriptionOwner;
  readonly sid: number;
  readonly subject: string;
  readonly queue: string | undefined;
}

/**
 * Routes published messages to matching subscriptions: every plain subscriber gets a copy, and
 * each queue group gets one, to its members in turn. A message is encoded once per publish.
 * Ordering: messages from one publisher reach each subscriber in publish order, because each is
 * handed to the subscriber's connection synchronously, in order.
 */
export class Broker {
  private readonly index = new SubjectIndex<BrokerSubscription>();
  private readonly turn = new Map<string, number>();

  get subscriptions(): number {
    return this.index.size;
  }

  add(sub: BrokerSubscription): void {
    this.index.add(sub.subject, sub);
  }

  remove(sub: BrokerSubscription): void {
    this.index.remove(sub.subject, sub);
  }

  /** Publishes to every match; `from` is the publishing connection (for echo). Returns deliveries. */
  publish(subject: string, payload: unknown, from?: SubscriptionOwner): number {
    if (this.index.match(subject).length === 0) return 0;
    return this.publishBody(subject, encodeSubjectBody(subject, payload), from);
  }

  /**
   * Publishes an already-encoded `[subject, payload]` body. A PUBLISH body is byte for byte the
   * EVENT body, so the server forwards what it received (validated) without re-encoding it.
   */
  publishBody(subject: string, body: Uint8Array, from?: SubscriptionOwner): number {
    const matches = this.index.match(subject);
    if (matches.length === 0) return 0;
    let delivered = 0;
    let groups: Map<string, BrokerSubscription[]> | undefined;
    for (const sub of matches) {
      if (sub.owner === from && !from.echo) continue;
      if (sub.queue !== undefined) {
        groups ??= new Map();
        let g = groups.get(sub.queue);
        if (!g) groups.set(sub.queue, (g = []));
        g.push(sub);
        continue;
      }
      sub.owner.deliver(sub, frameFor(sub.sid, body));
      delivered++;
    }
    if (groups) {
      for (const [name, members] of groups) {
        const n = this.turn.get(name) ?? 0;
        this.turn.set(name, (n + 1) % 0x7fffffff);
        const sub = members[n % members.length]!;
        sub.owner.deliver(sub, frameFor(sub.sid, body));
        delivered++;
      }
    }
    return delivered;
  }
}

function frameFor(sid: number, body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  writeHeader(frame, 0, body.length, FrameType.EVENT, 0, sid);
  frame.set(body, HEADER_BYTES);
  return frame;
}
