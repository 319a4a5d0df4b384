import { FastpathError } from '../protocol/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, ABSOLUTE_MAX_FRAME_BYTES } from '../protocol/frame.js';
import type { FastPathMode, TlsLocal } from '../session/upgrade.js';
import type { Tier } from '../transport/types.js';
import type { TierOptions } from '../transport/upgrade-tier.js';

/** Same-host fast-path settings, for a server and for each connection. */
export interface FastPathOptions {
  /** 'auto' (default) upgrades same-host peers; 'off' never does; 'require' refuses to run without it. */
  fastPath?: FastPathMode;
  /** Restricts the tiers that may be negotiated (default: every tier available here). */
  tiers?: readonly Tier[];
  /** Shared-memory tier settings: { mode: 'inline' | 'worker' | 'adaptive', spinMicros, batchMax, ringBytes, slotBytes }. */
  shm?: TierOptions;
  /** How long an upgrade may take before the connection stays where it is (default 5000 ms). */
  upgradeTimeoutMs?: number;
  /**
   * What a TLS connection (tls:// address) between two processes on this host may do: 'skip'
   * (default) lets it move to shm or uds without TLS, since those bytes never leave the kernel;
   * 'require' keeps it on TLS over TCP. Either end's 'require' wins. See docs/tls.md.
   */
  tlsLocal?: TlsLocal;
}

/** Options both ends share. */
export interface CommonOptions {
  /** The largest frame body this end accepts, in bytes (default 16 MiB). Checked before allocating. */
  maxFrameBytes?: number;
  /** Ping an idle connection after this many ms (default 10 000; 0 turns keepalive off). */
  keepaliveMs?: number;
  /** Declare the peer dead when a ping goes unanswered this long (default 20 000). */
  keepaliveTimeoutMs?: number;
  /** How long the HELLO/WELCOME exchange may take (default 10 000). */
  handshakeTimeoutMs?: number;
}

export const DEFAULTS = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  keepaliveMs: 10_000,
  keepaliveTimeoutMs: 20_000,
  handshakeTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  closeGraceMs: 5_000,
  upgradeTimeoutMs: 5_000,
} as const;

export function resolveCommon(o: CommonOptions): Required<CommonOptions> {
  checkTlsLocal((o as FastPathOptions).tlsLocal);
  const maxFrameBytes = o.maxFrameBytes ?? DEFAULTS.maxFrameBytes;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 64 || maxFrameBytes > ABSOLUTE_MAX_FRAME_BYTES) {
    throw new RangeError(`maxFrameBytes must be an integer between 64 and ${ABSOLUTE_MAX_FRAME_BYTES}`);
  }
  return {
    maxFrameBytes,
    keepaliveMs: o.keepaliveMs ?? DEFAULTS.keepaliveMs,
    keepaliveTimeoutMs: o.keepaliveTimeoutMs ?? DEFAULTS.keepaliveTimeoutMs,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
  };
}

/** tlsLocal is a security setting: a misspelt value must not silently mean 'skip'. */
function checkTlsLocal(v: unknown): void {
  if (v !== undefined && v !== 'skip' && v !== 'require') {
    throw new FastpathError('INVALID_ARGUMENT', `tlsLocal must be 'skip' or 'require', not ${JSON.stringify(v)}`, { details: { reason: 'bad-option' } });
  }
}
