import type { Connection, Tier } from './types.js';

/** Tier-specific settings, e.g. for shm: { mode, spinMicros, batchMax, ringBytes, slotBytes }. */
export type TierOptions = Record<string, unknown>;

/** One pending offer on the server: the parameters a client needs to attach. */
export interface TierOffer {
  params: Record<string, unknown>;
  /** Frees what the offer holds if the client never attaches (or attached: then it is a no-op). */
  cancel(): void;
}

/** The server side of a tier, created once per Server. */
export interface TierServer {
  offer(): Promise<TierOffer>;
  close(): Promise<void>;
}

/**
 * A same-host tier a TCP (or unix) connection can be upgraded to. Core provides `uds`; the native
 * package registers `shm` (and `tcp-fastpath` on Windows). The first frame a client sends on a new
 * channel proves the upgrade nonce; core checks it, so tiers only move bytes.
 */
export interface UpgradeTier {
  readonly tier: Tier;
  /** Undefined when the tier can work in this process; otherwise the reason it cannot. */
  unavailableReason(): string | undefined;
  /** Server side: `onConnection` receives every channel a client attaches. */
  listen(onConnection: (conn: Connection) => void, options: TierOptions): Promise<TierServer>;
  /** Client side: attach to an offer. */
  attach(params: Record<string, unknown>, options: TierOptions): Promise<Connection>;
}

/** Fastest first. Only these tiers can be negotiated. */
export const TIER_ORDER: readonly Tier[] = ['shm', 'tcp-fastpath', 'uds'];

const tiers = new Map<Tier, UpgradeTier>();

export function registerUpgradeTier(tier: UpgradeTier): void {
  tiers.set(tier.tier, tier);
}

export function getUpgradeTier(name: string): UpgradeTier | undefined {
  return tiers.get(name as Tier);
}

/** Registered tiers, fastest first. */
export function upgradeTiers(): UpgradeTier[] {
  return TIER_ORDER.map((t) => tiers.get(t)).filter((t): t is UpgradeTier => t !== undefined);
}
