import { ArrayPrefixCache, decode, decodeRange, encode, encodeFrame, encodeFrameWithPrefix, Utf8Cache } from './codec.js';
import { ProtocolError } from './errors.js';
import { buildFrame, FrameType } from './frame.js';

// STREAM_DATA (both directions, id = call id): the body is one message.
export function encodeStreamData(id: number, message: unknown): Buffer {
  return encodeFrame(FrameType.STREAM_DATA, 0, id, message);
}

export function decodeStreamData(body: Uint8Array): unknown {
  return decode(body);
}

// STREAM_END (both directions, id = call id): empty body. No more STREAM_DATA follows from that side.
export function encodeStreamEnd(id: number): Buffer {
  return buildFrame(FrameType.STREAM_END, 0, id);
}

// CREDIT (both directions, id = call id): body = uint, more messages the sender may send.
export function encodeCredit(id: number, n: number): Buffer {
  return buildFrame(FrameType.CREDIT, 0, id, encode(n));
}

export function decodeCredit(body: Uint8Array): number {
  const n = decode(body);
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > 0xffffffff) throw new ProtocolError('bad-credit', 'CREDIT must be a positive integer');
  return n;
}

// SUBSCRIBE (client -> server, id = subscription id): { subject, queue? }.
export interface SubscribeBody {
  subject: string;
  queue?: string;
}

export function encodeSubscribe(sid: number, body: SubscribeBody): Buffer {
  return buildFrame(FrameType.SUBSCRIBE, 0, sid, encode(body));
}

export function decodeSubscribe(body: Uint8Array): SubscribeBody {
  const v = decode(body) as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || typeof v.subject !== 'string' || (v.queue !== undefined && v.queue !== null && typeof v.queue !== 'string')) {
    throw new ProtocolError('bad-subscribe', 'SUBSCRIBE must be a map with subject (and optional queue)');
  }
  return typeof v.queue === 'string' ? { subject: v.subject, queue: v.queue } : { subject: v.subject };
}

// PUBLISH (client -> server, id = 0 or an id to acknowledge) and EVENT (server -> client,
// id = subscription id): [subject, payload].
export function encodeSubjectBody(subject: string, payload: unknown): Uint8Array {
  return encode([subject, payload]);
}

const subjectPrefixes = new ArrayPrefixCache(2);
const subjectNames = new Utf8Cache(10_000);

/** [subject, payload] as a whole frame: the array header and subject bytes are cached per subject. */
export function encodeSubjectFrame(type: number, id: number, subject: string, payload: unknown): Buffer {
  const prefix = subjectPrefixes.get(subject);
  if (prefix.length > 240) return encodeFrame(type, 0, id, [subject, payload]);
  return encodeFrameWithPrefix(type, 0, id, prefix, payload);
}

export function decodeSubjectBody(body: Uint8Array, what: string): { subject: string; payload: unknown } {
  // The common shape, [fixstr/str8 subject, payload], read by hand; anything else generically.
  if (body[0] === 0x92) {
    const t = body[1]!;
    let len = -1;
    let o = 0;
    if (t >= 0xa1 && t <= 0xbf) {
      len = t & 0x1f;
      o = 2;
    } else if (t === 0xd9) {
      len = body[2]!;
      o = 3;
    }
    if (len > 0 && o + len < body.length) {
      const subject = subjectNames.read(body, o, len);
      if (subject !== undefined) return { subject, payload: decodeRange(body, o + len, body.length) };
    }
  }
  const v = decode(body);
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string') throw new ProtocolError('bad-message', `${what} must be [subject, payload]`);
  return { subject: v[0], payload: v[1] };
}
