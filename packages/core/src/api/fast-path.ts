import type { TlsLocal } from '../session/upgrade.js';
import { loadNative, type NativeStatus } from '../transport/native-loader.js';
import type { Connection, Tier } from '../transport/types.js';
import { getUpgradeTier, TIER_ORDER, type TierOptions, type UpgradeTier } from '../transport/upgrade-tier.js';
import type { FastPathOptions } from './options.js';

export interface LocalTiers {
  /** Tiers usable in this process, fastest first. */
  usable: Array<{ tier: Tier; impl: UpgradeTier }>;
  /** Why the other known tiers are not usable. */
  unavailable: Record<string, string>;
  native: NativeStatus;
}

/** Which fast tiers this process can use, given its options; loads the native package once. */
export async function localTiers(options: FastPathOptions): Promise<LocalTiers> {
  const native = await loadNative();
  const usable: LocalTiers['usable'] = [];
  const unavailable: Record<string, string> = {};
  for (const tier of TIER_ORDER) {
    if (options.tiers && !options.tiers.includes(tier)) continue;
    const impl = getUpgradeTier(tier);
    if (!impl) {
      if (tier === 'shm') unavailable.shm = `native addon unavailable: ${native.reason ?? 'no shm tier registered'}`;
      if (tier === 'tcp-fastpath' && process.platform === 'win32') unavailable[tier] = `native addon unavailable: ${native.reason ?? 'not registered'}`;
      continue;
    }
    const why = impl.unavailableReason();
    if (why) unavailable[tier] = why;
    else usable.push({ tier, impl });
  }
  return { usable, unavailable, native };
}

export function tierOptions(options: FastPathOptions): Record<string, TierOptions> {
  // The polling mode (inline | worker | adaptive) applies to Windows' tcp-fastpath tier too (RIO
  // completions polled, notified, or both).
  const mode = options.shm?.mode;
  return { shm: options.shm ?? {}, 'tcp-fastpath': mode ? { mode } : {} };
}

/** The client's tiers for HELLO on one connection, after its tlsLocal. */
export interface ClientTierOffer {
  tiers: Tier[];
  unavailable: Record<string, string>;
  tlsLocal?: TlsLocal;
}

/**
 * What a client may attach to on `conn`. On a TLS connection with tlsLocal 'require' it attaches
 * to nothing: the client enforces its own policy even against a server that would offer a tier
 * anyway, and HELLO carries `tlsLocal: 'require'` so the server can say why it offers none.
 */
export function clientTiers(local: LocalTiers | undefined, conn: Connection, tlsLocal: TlsLocal | undefined): ClientTierOffer {
  const tiers = local?.usable.map((t) => t.tier) ?? [];
  const unavailable = { ...local?.unavailable };
  if (conn.tls === undefined || tlsLocal !== 'require') return { tiers, unavailable };
  for (const t of tiers) unavailable[t] = "tlsLocal is 'require' on this TLS connection";
  return { tiers: [], unavailable, tlsLocal: 'require' };
}
