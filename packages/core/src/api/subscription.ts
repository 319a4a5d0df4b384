import { FastpathError } from '../protocol/errors.js';
import type { SubscriptionSink } from '../session/client-session.js';
import { Inbox } from '../session/credit.js';
import { runValidator, type Validator } from './validation.js';

export interface Message<T> {
  /** The subject it was published on (useful with wildcard subscriptions). */
  subject: string;
  data: T;
}

export interface SubscribeOptions<T> {
  /** Join a queue group: each message goes to one member of the group. */
  queue?: string;
  /** Callback mode: called for each message as it arrives; no client-side queue. */
  callback?: (data: T, message: Message<T>) => void;
  /** Iterator mode: messages waiting to be read, at most (default 10 000). */
  maxMessages?: number;
  /** Iterator mode: bytes waiting to be read, at most (default 16 MiB). */
  maxBytes?: number;
  /** Checks each message; invalid ones are dropped and reported as an 'error' on the client. */
  validate?: Validator<T>;
}

export interface SubscriptionHost {
  subscribe(sub: Subscription<unknown>, sink: SubscriptionSink): void;
  unsubscribe(sub: Subscription<unknown>): void;
  slowConsumer(info: { subject: string; dropped: number; totalDropped: number }): void;
  error(err: FastpathError): void;
}

/**
 * A subscription. Iterate it (`for await (const m of sub)`: breaking out unsubscribes), or pass a
 * callback. In iterator mode the client keeps at most `maxMessages`/`maxBytes` waiting; beyond
 * that the oldest are dropped and the client emits 'slow-consumer' once per overflow.
 *
 * The object outlives a connection: after a reconnect it is subscribed again.
 */
export class Subscription<T> implements AsyncIterable<Message<T>> {
  private readonly inbox = new Inbox<Message<T>>();
  private readonly sizes: number[] = [];
  private queuedBytes = 0;
  private overflowing = false;
  private droppedSinceOverflow = 0;
  private totalDropped = 0;
  private iterating = false;
  private isClosed = false;
  private resolveReady!: () => void;
  private rejectReady!: (e: FastpathError) => void;
  /** Resolves when the server has accepted the subscription; rejects if it refused. */
  readonly ready: Promise<void>;
  /** The sink the current connection delivers to. */
  readonly sink: SubscriptionSink;

  constructor(
    readonly subject: string,
    private readonly options: SubscribeOptions<T>,
    private readonly host: SubscriptionHost,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.sink = {
      onReady: () => this.resolveReady(),
      onRefused: (err) => this.end(err),
      onEvent: (subject, payload, bytes) => this.onEvent(subject, payload, bytes),
      onSessionClosed: (reason) => this.end(reason.code === 'CANCELLED' ? undefined : reason),
    };
    host.subscribe(this as Subscription<unknown>, this.sink);
  }

  get queue(): string | undefined {
    return this.options.queue;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Messages dropped because the consumer was too slow, in total. */
  get dropped(): number {
    return this.totalDropped;
  }

  private onEvent(subject: string, payload: unknown, bytes: number): void {
    if (this.isClosed) return;
    let data = payload as T;
    if (this.options.validate) {
      try {
        const v = runValidator(this.options.validate, payload, `invalid message on ${subject}`);
        if (v instanceof Promise) throw new FastpathError('INVALID_ARGUMENT', 'subscription validators must be synchronous');
        data = v;
      } catch (err) {
        this.host.error(err as FastpathError);
        return;
      }
    }
    const message = { subject, data };
    if (this.options.callback) {
      try {
        this.options.callback(data, message);
      } catch (err) {
        // The application's bug stays with its subscription; the connection keeps working.
        this.host.error(new FastpathError('UNKNOWN', `the callback of the subscription to "${this.subject}" threw: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { reason: 'callback-threw', subject: subject } }));
      }
      return;
    }
    this.inbox.push(message);
    this.sizes.push(bytes);
    this.queuedBytes += bytes;
    const maxMessages = this.options.maxMessages ?? 10_000;
    const maxBytes = this.options.maxBytes ?? 16 * 1024 * 1024;
    if (this.inbox.size <= maxMessages && this.queuedBytes <= maxBytes) return;
    let dropped = 0;
    while (this.inbox.size > maxMessages || this.queuedBytes > maxBytes) {
      this.inbox.dropOldest();
      this.queuedBytes -= this.sizes.shift()!;
      dropped++;
    }
    this.droppedSinceOverflow += dropped;
    this.totalDropped += dropped;
    if (!this.overflowing) {
      this.overflowing = true;
      queueMicrotask(() => this.host.slowConsumer({ subject: this.subject, dropped: this.droppedSinceOverflow, totalDropped: this.totalDropped }));
    }
  }

  /** Stops the subscription; an iterator in progress ends (done). */
  unsubscribe(): void {
    if (this.isClosed) return;
    this.host.unsubscribe(this as Subscription<unknown>);
    this.end(undefined);
  }

  private end(err: FastpathError | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (err) {
      this.rejectReady(err);
      this.inbox.fail(err);
    } else {
      this.resolveReady();
      this.inbox.end();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Message<T>> {
    if (this.options.callback) throw new TypeError('this subscription delivers to its callback; it cannot also be iterated');
    if (this.iterating) throw new TypeError('a subscription can be iterated only once');
    this.iterating = true;
    return {
      next: () =>
        this.inbox.next(() => {
          this.queuedBytes -= this.sizes.shift() ?? 0;
          if (this.overflowing && this.inbox.size === 0) {
            this.overflowing = false;
            this.droppedSinceOverflow = 0;
          }
        }) as Promise<IteratorResult<Message<T>>>,
      return: async () => {
        this.unsubscribe();
        return { value: undefined, done: true };
      },
    };
  }
}
