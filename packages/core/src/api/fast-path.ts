import { loadNative, type NativeStatus } from '../transport/native-loader.js';
import type { Tier } from '../transport/types.js';
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
  return { shm: options.shm ?? {} };
}
