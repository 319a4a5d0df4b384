/**
 * Frame layout (docs/protocol.md). Every frame is a 12-byte little-endian header and a body:
 *
 *   offset 0  u32  length of the body in bytes (not counting the header)
 *   offset 4  u8   frame type
 *   offset 5  u8   flags
 *   offset 6  u16  reserved, must be 0
 *   offset 8  u32  id (request, stream or ping id; 0 for connection-level frames)
 *
 * The body is one MessagePack value, or empty when length is 0.
 */
export const HEADER_BYTES = 12;

export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  REQUEST: 0x03,
  RESPONSE: 0x04,
  ERROR: 0x05,
  CANCEL: 0x06,
  STREAM_DATA: 0x07,
  STREAM_END: 0x08,
  SUBSCRIBE: 0x09,
  UNSUBSCRIBE: 0x0a,
  PUBLISH: 0x0b,
  EVENT: 0x0c,
  PING: 0x0d,
  PONG: 0x0e,
  UPGRADE: 0x0f,
  UPGRADE_ACK: 0x10,
  GOAWAY: 0x11,
  CREDIT: 0x12,
} as const;

/** REQUEST flags: the call's shape. Unary calls set neither. */
export const RequestFlag = {
  /** The client sends its messages as STREAM_DATA after the REQUEST, ending with STREAM_END. */
  CLIENT_STREAM: 0x01,
  /** The server answers with STREAM_DATA frames, ending with STREAM_END (or ERROR). */
  SERVER_STREAM: 0x02,
} as const;

export type FrameTypeName = keyof typeof FrameType;
export type FrameTypeNumber = (typeof FrameType)[FrameTypeName];

const names: string[] = [];
for (const [name, n] of Object.entries(FrameType)) names[n] = name;
export const MAX_FRAME_TYPE = names.length - 1;

export function frameTypeName(type: number): string {
  return names[type] ?? `0x${type.toString(16).padStart(2, '0')}`;
}

export function isKnownFrameType(type: number): type is FrameTypeNumber {
  return type >= 1 && type <= MAX_FRAME_TYPE;
}

/** Default upper bound for a frame body: 16 MiB. Configurable per server and per client. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** The largest value the u32 length field can hold. */
export const ABSOLUTE_MAX_FRAME_BYTES = 0xffffffff;
export const MAX_ID = 0xffffffff;

export interface Frame {
  type: number;
  flags: number;
  id: number;
  /** The body bytes. A view into the receive buffer: valid until the handler returns. */
  body: Uint8Array;
}

/** Writes a header into `target` at `offset`. */
export function writeHeader(target: Uint8Array, offset: number, bodyLength: number, type: number, flags: number, id: number): void {
  target[offset] = bodyLength & 0xff;
  target[offset + 1] = (bodyLength >>> 8) & 0xff;
  target[offset + 2] = (bodyLength >>> 16) & 0xff;
  target[offset + 3] = (bodyLength >>> 24) & 0xff;
  target[offset + 4] = type;
  target[offset + 5] = flags;
  target[offset + 6] = 0;
  target[offset + 7] = 0;
  target[offset + 8] = id & 0xff;
  target[offset + 9] = (id >>> 8) & 0xff;
  target[offset + 10] = (id >>> 16) & 0xff;
  target[offset + 11] = (id >>> 24) & 0xff;
}

/** Builds one frame: header and body in a single buffer, ready for one write. */
export function buildFrame(type: number, flags: number, id: number, body?: Uint8Array): Buffer {
  const len = body ? body.length : 0;
  const out = Buffer.allocUnsafe(HEADER_BYTES + len);
  writeHeader(out, 0, len, type, flags, id);
  if (body && len) out.set(body, HEADER_BYTES);
  return out;
}
