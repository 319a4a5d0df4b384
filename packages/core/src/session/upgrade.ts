import { randomBytes } from 'node:crypto';
import { FastpathError, ProtocolError } from '../protocol/errors.js';
import { FrameType, HEADER_BYTES } from '../protocol/frame.js';
import { encodeGoAway } from '../protocol/messages.js';
import { decodeUpgradeAck, type HelloFastPath } from '../protocol/upgrade-messages.js';
import type { Connection, Tier } from '../transport/types.js';
import { TIER_ORDER } from '../transport/upgrade-tier.js';
import { currentUid } from '../transport/host-identity.js';

/** Fast-path policy, per server and per connection (as the Windows feature offers). */
export type FastPathMode = 'auto' | 'off' | 'require';

/**
 * What a TLS connection may do on the same host (docs/tls.md): 'skip' (default) lets it move to a
 * same-host tier (shm, uds), whose bytes never leave the kernel, without TLS; 'require' keeps it
 * on TLS over TCP.
 */
export type TlsLocal = 'skip' | 'require';

/**
 * On a connection that began as TLS (a tls:// address): `true` while its bytes travel over TLS;
 * `'skipped-same-host'` once it moved to a same-host tier that carries them without TLS.
 */
export type PathTls = true | 'skipped-same-host';

/** Reported with every `path` event: where a connection runs and, on a slower tier, why. */
export interface PathInfo {
  path: Tier;
  /**
   * Why a faster tier was not used (undefined when the connection runs on the fastest tier it was
   * allowed). A TLS connection kept on TCP by tlsLocal 'require' says so here.
   */
  reason?: string;
  /** Present only on connections that began as TLS: see PathTls. Absent for tcp:// and unix:. */
  tls?: PathTls;
}

export interface ServerFastPath {
  mode: FastPathMode;
  host: string;
  uid: number;
  /** Every tier the server knows of: undefined when it can offer it, else why not. */
  tiers: Map<Tier, string | undefined>;
  /** The server's own tlsLocal (default 'skip'). */
  tlsLocal?: TlsLocal;
}

/** The reasons a same-host TLS connection stays on TCP. */
export const TLS_REQUIRED_BY_SERVER = "TLS required (server tlsLocal is 'require')";
export const TLS_REQUIRED_BY_CLIENT = "TLS required (client tlsLocal is 'require')";

/**
 * Adds the `tls` field to a connection's PathInfo. `origin` is the connection the session began
 * on: a TLS connection still on its own tier is TLS; on any other tier it skipped TLS.
 */
export function withTls(info: PathInfo, origin: { readonly tier: Tier; readonly tls?: unknown }): PathInfo {
  if (origin.tls === undefined) return info;
  return { ...info, tls: info.path === origin.tier ? true : 'skipped-same-host' };
}

export type OfferDecision = { tier: Tier; reason?: string } | { tier?: undefined; reason: string };

/**
 * Decides which tier the server offers a client, from the client's HELLO and the server's own
 * capabilities. The best common tier wins; the reason says why faster tiers were skipped.
 * `secure` is true on a TLS connection, where either end's tlsLocal 'require' prevents any offer.
 */
export function decideOffer(hello: HelloFastPath | undefined, server: ServerFastPath, current: Tier = 'tcp', secure = false): OfferDecision {
  if (server.mode === 'off') return { reason: 'peer opted out (server fastPath is off)' };
  if (!hello) return { reason: 'peer opted out (client fastPath is off)' };
  if (hello.host !== server.host) return { reason: 'remote peer' };
  // `secure`: the connection is TLS. Either end's tlsLocal 'require' keeps it on TLS over TCP.
  if (secure && server.tlsLocal === 'require') return { reason: TLS_REQUIRED_BY_SERVER };
  if (secure && hello.tlsLocal === 'require') return { reason: TLS_REQUIRED_BY_CLIENT };
  if (hello.uid !== server.uid) return { reason: `peer runs as another user (uid ${hello.uid}; server uid ${server.uid})` };
  const skipped: string[] = [];
  const currentRank = TIER_ORDER.indexOf(current);
  const candidates = currentRank < 0 ? TIER_ORDER : TIER_ORDER.slice(0, currentRank);
  for (const t of candidates) {
    const clientWhyNot = hello.tiers.includes(t) ? undefined : hello.unavailable?.[t];
    const serverHas = server.tiers.has(t);
    const serverWhyNot = server.tiers.get(t);
    if (hello.tiers.includes(t) && serverHas && serverWhyNot === undefined) {
      return skipped.length ? { tier: t, reason: skipped.join('; ') } : { tier: t };
    }
    if (clientWhyNot) skipped.push(`${t}: ${clientWhyNot} (client)`);
    else if (serverHas && serverWhyNot) skipped.push(`${t}: ${serverWhyNot} (server)`);
  }
  if (currentRank >= 0) return { reason: skipped.length ? skipped.join('; ') : `already on ${current}` };
  return { reason: skipped.length ? `no common fast tier (${skipped.join('; ')})` : 'no common fast tier' };
}

export function newNonce(): Uint8Array {
  return randomBytes(16);
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

interface Waiting {
  onAttach: (conn: Connection, leftover: Uint8Array) => void;
  timer: NodeJS.Timeout;
}

/** Largest attach frame accepted on a new channel before the nonce is checked. */
const MAX_ATTACH_BYTES = 256;

/**
 * Server side: new channels arrive on tier listeners with no idea which session they belong to.
 * The first frame must be UPGRADE_ACK {attach: nonce}; the nonce picks the session, once. Unknown,
 * replayed or expired nonces, and anything else, get GOAWAY(PERMISSION_DENIED) and a close.
 */
export class AttachRouter {
  private readonly waiting = new Map<string, Waiting>();

  constructor(private readonly onReject: (err: FastpathError, conn: Connection) => void) {}

  /** Expects one attach with this nonce within `timeoutMs`. */
  expect(nonce: Uint8Array, timeoutMs: number, onAttach: Waiting['onAttach'], onExpire: () => void): void {
    const key = hex(nonce);
    const timer = setTimeout(() => {
      if (this.waiting.delete(key)) onExpire();
    }, timeoutMs);
    timer.unref();
    this.waiting.set(key, { onAttach, timer });
  }

  cancel(nonce: Uint8Array): void {
    const key = hex(nonce);
    const w = this.waiting.get(key);
    if (w) clearTimeout(w.timer);
    this.waiting.delete(key);
  }

  get pending(): number {
    return this.waiting.size;
  }

  /** Reads the first frame of a new channel and hands the channel to the session it proves. */
  route(conn: Connection, timeoutMs = 5000): void {
    let buf = Buffer.alloc(0);
    const reject = (why: string): void => {
      clearTimeout(timer);
      conn.onData = null;
      const err = new FastpathError('PERMISSION_DENIED', `upgrade refused: ${why}`, { details: { reason: 'attach-refused' } });
      conn.write(encodeGoAway('PERMISSION_DENIED', err.message, 0));
      conn.close();
      this.onReject(err, conn);
    };
    const timer = setTimeout(() => reject('no attach frame in time'), timeoutMs);
    timer.unref();
    // Where the transport can tell who is at the other end (SO_PEERCRED), it must be this user.
    const uid = conn.peerUid?.();
    if (uid !== undefined && uid !== currentUid()) {
      reject(`the peer runs as uid ${uid}, not ${currentUid()}`);
      return;
    }
    conn.onClose = () => clearTimeout(timer);
    conn.onData = (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : Buffer.from(chunk);
      if (buf.length < HEADER_BYTES) return;
      const len = buf.readUInt32LE(0);
      if (buf[4] !== FrameType.UPGRADE_ACK || len > MAX_ATTACH_BYTES) {
        reject('the first frame on a new channel must be UPGRADE_ACK {attach}');
        return;
      }
      if (buf.length < HEADER_BYTES + len) return;
      let nonce: Uint8Array;
      try {
        const ack = decodeUpgradeAck(buf.subarray(HEADER_BYTES, HEADER_BYTES + len));
        if (!('attach' in ack)) throw new ProtocolError('bad-upgrade', 'expected {attach}');
        nonce = ack.attach;
      } catch {
        reject('malformed attach frame');
        return;
      }
      const key = hex(nonce);
      const w = this.waiting.get(key);
      if (!w) {
        reject('unknown, expired or already used nonce');
        return;
      }
      this.waiting.delete(key); // one-time
      clearTimeout(w.timer);
      clearTimeout(timer);
      conn.onData = null;
      conn.onClose = null;
      w.onAttach(conn, buf.subarray(HEADER_BYTES + len));
    };
  }
}
