import { ProtocolError } from './errors.js';
import { HEADER_BYTES, isKnownFrameType, frameTypeName } from './frame.js';

export type FrameHandler = (type: number, flags: number, id: number, body: Uint8Array) => void;

/**
 * Streaming frame parser. Accepts input split at any byte and many frames merged in one chunk.
 *
 * - The length field is checked against `maxFrameBytes` as soon as the 12 header bytes are in,
 *   before any body byte is buffered or any buffer is allocated.
 * - A frame that arrives whole inside one chunk is handed out as a view of that chunk (no copy).
 *   A frame split across chunks is assembled in a buffer of exactly its length.
 * - It throws only ProtocolError. After a throw the parser is dead: the connection must close.
 */
export class FrameParser {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private type = 0;
  private flags = 0;
  private id = 0;
  private stopped = false;
  private failed: ProtocolError | null = null;

  constructor(
    private readonly onFrame: FrameHandler,
    private readonly maxFrameBytes: number,
  ) {}

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** Stops delivering frames; later pushes are ignored. */
  stop(): void {
    this.stopped = true;
    this.body = null;
  }

  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    const end = chunk.length;
    let off = 0;
    while (off < end && !this.stopped) {
      if (this.body !== null) {
        // Filling the body of a frame that was split.
        const need = this.body.length - this.bodyFill;
        const take = Math.min(need, end - off);
        this.body.set(chunk.subarray(off, off + take), this.bodyFill);
        this.bodyFill += take;
        off += take;
        if (this.bodyFill === this.body.length) {
          const body = this.body;
          this.body = null;
          this.bodyFill = 0;
          this.onFrame(this.type, this.flags, this.id, body);
        }
        continue;
      }
      let len: number;
      if (this.headerFill > 0 || end - off < HEADER_BYTES) {
        // Assembling a header that was split.
        const take = Math.min(HEADER_BYTES - this.headerFill, end - off);
        this.header.set(chunk.subarray(off, off + take), this.headerFill);
        this.headerFill += take;
        off += take;
        if (this.headerFill < HEADER_BYTES) return;
        this.headerFill = 0;
        len = this.readHeader(this.header, 0);
      } else {
        len = this.readHeader(chunk, off);
        off += HEADER_BYTES;
      }
      if (end - off >= len) {
        // The whole body is in this chunk: hand out a view.
        const body = chunk.subarray(off, off + len);
        off += len;
        this.onFrame(this.type, this.flags, this.id, body);
      } else {
        // Checked against maxFrameBytes in readHeader, so this allocation is bounded.
        this.body = Buffer.allocUnsafe(len);
        this.bodyFill = 0;
      }
    }
  }

  private readHeader(b: Uint8Array, o: number): number {
    const len = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
    const type = b[o + 4]!;
    const flags = b[o + 5]!;
    const reserved = b[o + 6]! | b[o + 7]!;
    const id = (b[o + 8]! | (b[o + 9]! << 8) | (b[o + 10]! << 16)) + b[o + 11]! * 0x1000000;
    if (!isKnownFrameType(type)) {
      this.fail(new ProtocolError('unknown-frame-type', `unknown frame type ${frameTypeName(type)}`));
    }
    if (reserved !== 0) {
      this.fail(new ProtocolError('bad-header', `reserved header bytes must be 0 (frame type ${frameTypeName(type)})`));
    }
    if (len > this.maxFrameBytes) {
      this.fail(
        new ProtocolError('frame-too-large', `frame of ${len} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`, {
          code: 'RESOURCE_EXHAUSTED',
          details: { limit: this.maxFrameBytes, size: len },
        }),
      );
    }
    this.type = type;
    this.flags = flags;
    this.id = id;
    return len;
  }

  private fail(err: ProtocolError): never {
    this.failed = err;
    this.body = null;
    throw err;
  }
}
