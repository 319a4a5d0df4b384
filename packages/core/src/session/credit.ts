/**
 * Credit-based flow control for streams (docs/protocol.md, "Streams"). Each side may have at most
 * STREAM_WINDOW messages in flight towards the other; the receiver returns credit with CREDIT
 * frames as its consumer takes messages, in batches of half a window.
 */
export const STREAM_WINDOW = 64;

/** Sender side: waits while no credit is left. */
export class CreditGate {
  private credit = STREAM_WINDOW;
  private waiters: Array<() => void> = [];
  private closed = false;

  get available(): number {
    return this.credit;
  }

  grant(n: number): void {
    this.credit += n;
    this.wake();
  }

  /** Resolves when a message may be sent (and takes one credit), or rejects once closed. */
  async acquire(): Promise<boolean> {
    while (this.credit <= 0) {
      if (this.closed) return false;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) return false;
    this.credit--;
    return true;
  }

  /** Wakes every waiter for good (the call ended). */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Receiver side: counts consumed messages and says when to return credit. */
export class ReceiveWindow {
  private outstanding = 0;
  private consumed = 0;

  /** A message arrived. False when the sender exceeded its credit (a protocol violation). */
  arrived(): boolean {
    this.outstanding++;
    // Messages consumed but not yet returned as credit give the sender nothing more to send.
    return this.outstanding <= STREAM_WINDOW;
  }

  /** The consumer took a message. Returns the credit to send now, or 0. */
  took(): number {
    this.consumed++;
    if (this.consumed < STREAM_WINDOW / 2) return 0;
    const n = this.consumed;
    this.outstanding -= n;
    this.consumed = 0;
    return n;
  }
}

/**
 * A bounded inbox that an async iterator drains. `push` never blocks (the window bounds it);
 * `next` waits for a message, the end, or an error.
 */
export class Inbox<T> {
  private items: T[] = [];
  private ended = false;
  private error: Error | undefined;
  private waiter: (() => void) | undefined;

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Removes the oldest waiting item (for drop-oldest queues). */
  dropOldest(): void {
    this.items.shift();
  }

  fail(err: Error): void {
    if (this.error || this.ended) return;
    // Items already received are still delivered before the error.
    this.error = err;
    this.wake();
  }

  async next(onTake?: () => void): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.items.length > 0) {
        const value = this.items.shift()!;
        onTake?.();
        return { value, done: false };
      }
      if (this.error) throw this.error;
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
