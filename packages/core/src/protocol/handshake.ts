import { decode, encode } from './codec.js';
import { FastpathError, ProtocolError } from './errors.js';
import { buildFrame, FrameType } from './frame.js';

/** Protocol versions this implementation speaks, newest first. */
export const PROTOCOL_VERSIONS: readonly number[] = [1];
export const PROTOCOL_MAGIC = 'fastpath';
export const AGENT = 'fastpath-js/0.1';

/** Capabilities are opaque strings; a peer ignores the ones it does not know. */
export type Capability = string;

export interface Hello {
  proto: typeof PROTOCOL_MAGIC;
  versions: number[];
  agent: string;
  caps: Capability[];
  maxFrameBytes: number;
  /** Connection-level metadata (auth tokens later travel here). */
  meta?: Record<string, string>;
  /** Fields added by later protocol features (fast-path negotiation, auth) are kept here. */
  [extra: string]: unknown;
}

export interface Welcome {
  version: number;
  agent: string;
  caps: Capability[];
  maxFrameBytes: number;
  /** The interval at which the server pings an idle connection, in ms (0 = never). */
  keepaliveMs: number;
  [extra: string]: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function stringArray(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ProtocolError('bad-handshake', `${what} must be an array of strings`);
  return v as string[];
}

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ProtocolError('bad-handshake', `${what} must be a non-negative integer`);
  return v;
}

export function encodeHello(hello: Omit<Hello, 'proto'>): Buffer {
  return buildFrame(FrameType.HELLO, 0, 0, encode({ proto: PROTOCOL_MAGIC, ...hello }));
}

export function decodeHello(body: Uint8Array): Hello {
  const v = decode(body);
  if (!isRecord(v) || v.proto !== PROTOCOL_MAGIC) throw new ProtocolError('bad-handshake', 'HELLO must be a map with proto "fastpath"');
  const versions = v.versions;
  if (!Array.isArray(versions) || versions.length === 0 || !versions.every((x) => Number.isInteger(x))) {
    throw new ProtocolError('bad-handshake', 'HELLO versions must be a non-empty array of integers');
  }
  const meta = v.meta;
  if (meta !== undefined && meta !== null) {
    if (!isRecord(meta) || !Object.values(meta).every((x) => typeof x === 'string')) throw new ProtocolError('bad-handshake', 'HELLO meta must be a map of strings');
  }
  return {
    ...v,
    proto: PROTOCOL_MAGIC,
    versions: versions as number[],
    agent: typeof v.agent === 'string' ? v.agent : 'unknown',
    caps: v.caps === undefined || v.caps === null ? [] : stringArray(v.caps, 'HELLO caps'),
    maxFrameBytes: positiveInt(v.maxFrameBytes, 'HELLO maxFrameBytes'),
    ...(meta ? { meta: meta as Record<string, string> } : {}),
  };
}

/**
 * Picks the newest version both sides speak. Throws FastpathError(FAILED_PRECONDITION) with the
 * versions of both sides when there is none; the server sends that error in GOAWAY.
 */
export function negotiateVersion(offered: readonly number[], supported: readonly number[] = PROTOCOL_VERSIONS): number {
  for (const v of supported) if (offered.includes(v)) return v;
  throw new FastpathError(
    'FAILED_PRECONDITION',
    `incompatible protocol version: peer offers [${offered.join(', ')}], this side supports [${supported.join(', ')}]`,
    { details: { reason: 'version-mismatch', offered: [...offered], supported: [...supported] } },
  );
}

export function encodeWelcome(welcome: Welcome): Buffer {
  return buildFrame(FrameType.WELCOME, 0, 0, encode(welcome));
}

export function decodeWelcome(body: Uint8Array): Welcome {
  const v = decode(body);
  if (!isRecord(v)) throw new ProtocolError('bad-handshake', 'WELCOME must be a map');
  return {
    ...v,
    version: positiveInt(v.version, 'WELCOME version'),
    agent: typeof v.agent === 'string' ? v.agent : 'unknown',
    caps: v.caps === undefined || v.caps === null ? [] : stringArray(v.caps, 'WELCOME caps'),
    maxFrameBytes: positiveInt(v.maxFrameBytes, 'WELCOME maxFrameBytes'),
    keepaliveMs: v.keepaliveMs === undefined || v.keepaliveMs === null ? 0 : positiveInt(v.keepaliveMs, 'WELCOME keepaliveMs'),
  };
}
