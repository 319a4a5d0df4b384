/**
 * Cuts a TCP byte stream into fixed-size messages. TCP has no message boundaries: one `data`
 * chunk may hold part of a message, exactly one, or several. The raw (no framework) rows use this
 * on both ends so that a round trip always means "the whole message came back".
 */
export class FixedMessages {
  private partial: Buffer | null = null;
  private fill = 0;

  constructor(
    readonly size: number,
    /** Receives each complete message. It may keep the buffer: it is never reused. */
    private readonly onMessage: (message: Buffer) => void,
  ) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`message size must be a positive integer, got ${size}`);
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.fill;
  }

  push(chunk: Buffer): void {
    const size = this.size;
    let off = 0;
    // The common case in ping-pong: exactly one whole message per chunk, handed out as is.
    if (this.partial === null && chunk.length === size) {
      this.onMessage(chunk);
      return;
    }
    while (off < chunk.length) {
      if (this.partial !== null) {
        const take = Math.min(size - this.fill, chunk.length - off);
        chunk.copy(this.partial, this.fill, off, off + take);
        this.fill += take;
        off += take;
        if (this.fill === size) {
          const msg = this.partial;
          this.partial = null;
          this.fill = 0;
          this.onMessage(msg);
        }
      } else if (chunk.length - off >= size) {
        this.onMessage(chunk.subarray(off, off + size));
        off += size;
      } else {
        // A fresh buffer per split message, so a message handed out is never overwritten.
        this.partial = Buffer.allocUnsafe(size);
        this.fill = 0;
      }
    }
  }
}
