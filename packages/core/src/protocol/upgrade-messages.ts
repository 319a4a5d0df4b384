import { decode, encode } from './codec.js';
import { ProtocolError } from './errors.js';
import { buildFrame, FrameType } from './frame.js';

/** What a client says about the fast path in HELLO (`hello.fastPath`). */
export interface HelloFastPath {
  /** 'auto' upgrades when it can; 'require' fails the connection when it cannot. */
  mode: 'auto' | 'require';
  /** Host identity: equal on both ends only when they share a kernel and a network namespace. */
  host: string;
  /** The client's uid (-1 where the OS has none). */
  uid: number;
  /** Tiers the client can attach to, fastest first. */
  tiers: string[];
  /** Why tiers the client knows of are not on the list, e.g. { shm: 'native addon unavailable: …' }. */
  unavailable?: Record<string, string>;
  /** 'require': this TLS connection must stay on TLS (the client's tlsLocal; docs/tls.md). Absent otherwise. */
  tlsLocal?: 'require';
}

/** What the server answers about the fast path in WELCOME (`welcome.fastPath`). */
export interface WelcomeFastPath {
  /** True when an UPGRADE frame follows. */
  offer: boolean;
  /** The tier offered, when offer is true. */
  tier?: string;
  /** Why no upgrade is offered, when offer is false. */
  reason?: string;
}

/** UPGRADE (server -> client, id 0): the offer. */
export interface UpgradeOffer {
  tier: string;
  /** One-time secret the client proves on the new channel. */
  nonce: Uint8Array;
  /** Tier-specific attach parameters (a socket path, a shared-memory token...). */
  params: Record<string, unknown>;
}

/**
 * UPGRADE_ACK, three uses:
 * - `{ attach: nonce }`: the first frame a client sends on the new channel, proving the nonce;
 * - `{ switch: true }`: the last frame a side sends on the old channel; everything after it goes on the new one;
 * - `{ fail: reason }`: on the old channel, the upgrade is abandoned and both sides stay where they are.
 */
export type UpgradeAck = { attach: Uint8Array } | { switch: true } | { fail: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function parseHelloFastPath(v: unknown): HelloFastPath | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new ProtocolError('bad-handshake', 'HELLO fastPath must be a map');
  const { mode, host, uid, tiers, unavailable } = v;
  if ((mode !== 'auto' && mode !== 'require') || typeof host !== 'string' || typeof uid !== 'number' || !Array.isArray(tiers) || !tiers.every((t) => typeof t === 'string')) {
    throw new ProtocolError('bad-handshake', 'HELLO fastPath needs mode, host, uid and tiers');
  }
  const out: HelloFastPath = { mode, host, uid, tiers: tiers as string[] };
  if (v.tlsLocal === 'require') out.tlsLocal = 'require';
  if (isRecord(unavailable)) {
    out.unavailable = {};
    for (const [k, r] of Object.entries(unavailable)) if (typeof r === 'string') out.unavailable[k] = r;
  }
  return out;
}

export function parseWelcomeFastPath(v: unknown): WelcomeFastPath {
  if (v === undefined || v === null) return { offer: false, reason: 'server does not support the fast path' };
  if (!isRecord(v) || typeof v.offer !== 'boolean') throw new ProtocolError('bad-handshake', 'WELCOME fastPath must be a map with offer');
  return { offer: v.offer, ...(typeof v.tier === 'string' ? { tier: v.tier } : {}), ...(typeof v.reason === 'string' ? { reason: v.reason } : {}) };
}

export function encodeUpgrade(offer: UpgradeOffer): Buffer {
  return buildFrame(FrameType.UPGRADE, 0, 0, encode({ tier: offer.tier, nonce: offer.nonce, params: offer.params }));
}

export function decodeUpgrade(body: Uint8Array): UpgradeOffer {
  const v = decode(body);
  if (!isRecord(v) || typeof v.tier !== 'string' || !(v.nonce instanceof Uint8Array) || !isRecord(v.params)) {
    throw new ProtocolError('bad-upgrade', 'UPGRADE must be a map with tier, nonce (bin) and params');
  }
  return { tier: v.tier, nonce: v.nonce, params: v.params };
}

export function encodeUpgradeAck(ack: UpgradeAck): Buffer {
  return buildFrame(FrameType.UPGRADE_ACK, 0, 0, encode(ack));
}

export function decodeUpgradeAck(body: Uint8Array): UpgradeAck {
  const v = decode(body);
  if (isRecord(v)) {
    if (v.attach instanceof Uint8Array) return { attach: v.attach };
    if (v.switch === true) return { switch: true };
    if (typeof v.fail === 'string') return { fail: v.fail };
  }
  throw new ProtocolError('bad-upgrade', 'UPGRADE_ACK must be {attach: bin}, {switch: true} or {fail: str}');
}
