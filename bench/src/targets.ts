/**
 * The fastpath configurations the benchmark measures, one per tier and shared-memory mode. Every
 * section (ping-pong, pipelined calls, pub-sub) uses the same list, the same row names, and the
 * same rule: both ends are configured alike, the tier is required, and a connection that ends up
 * on any other tier fails the row instead of being measured under the wrong label.
 */
import type { Client, ClientOptions, Tier } from '@fastpath/core';
import { nativeStatus } from '@fastpath/native';

export type ShmMode = 'inline' | 'worker' | 'adaptive';
export const SHM_MODES: readonly ShmMode[] = ['inline', 'worker', 'adaptive'];

export interface FastpathTarget {
  /** The row name, e.g. `fastpath-shm-inline`. */
  readonly row: string;
  /** The tier the connection must run on. */
  readonly tier: Extract<Tier, 'tcp' | 'uds' | 'shm'>;
  /** The shm execution mode, set on both ends (shm only). */
  readonly shmMode?: ShmMode;
}

export const TCP_TARGET: FastpathTarget = { row: 'fastpath-tcp', tier: 'tcp' };

/** Every fastpath configuration, in table order. */
export const FASTPATH_TARGETS: readonly FastpathTarget[] = [
  TCP_TARGET,
  { row: 'fastpath-uds', tier: 'uds' },
  ...SHM_MODES.map((mode): FastpathTarget => ({ row: `fastpath-shm-${mode}`, tier: 'shm', shmMode: mode })),
];

/** How the target is reached, for descriptions: "tier tcp", "tier shm, mode inline". */
export function targetLabel(t: FastpathTarget): string {
  return t.shmMode ? `tier ${t.tier}, mode ${t.shmMode} at both ends` : `tier ${t.tier}`;
}

/** Why the target cannot run here (the shm tiers need the native addon), or undefined. */
export function targetSkipReason(t: FastpathTarget): string | undefined {
  if (t.tier === 'shm' && !nativeStatus.loaded) return `native addon unavailable: ${nativeStatus.reason ?? 'unknown reason'}`;
  if (t.tier === 'uds' && process.platform === 'win32') return 'unix sockets are not used on Windows';
  return undefined;
}

/**
 * Arguments for peers/fastpath-echo.ts (also the pub-sub server): listen on TCP, offer only the
 * target's tier, with the target's shm mode. The tcp target turns same-host upgrade off.
 */
export function serverArgs(t: FastpathTarget): string[] {
  if (t.tier === 'tcp') return ['tcp://127.0.0.1:0', 'off'];
  return ['tcp://127.0.0.1:0', 'auto', t.tier, ...(t.shmMode ? [t.shmMode] : [])];
}

/** Options for peers/fastpath-echo.ts from its command line (see serverArgs). */
export function targetFromArgs(tier: string | undefined, shmMode: string | undefined): { tiers?: Tier[]; shm?: { mode: ShmMode } } {
  if (tier === undefined || tier === '-') return {};
  if (tier !== 'uds' && tier !== 'shm') throw new Error(`tier must be uds or shm, got "${tier}"`);
  if (shmMode !== undefined && !SHM_MODES.includes(shmMode as ShmMode)) throw new Error(`shm mode must be one of ${SHM_MODES.join(', ')}, got "${shmMode}"`);
  return { tiers: [tier], ...(shmMode ? { shm: { mode: shmMode as ShmMode } } : {}) };
}

/**
 * Client options for the target: the tcp target turns the fast path off; the others require it
 * and allow only the target's tier, with the target's shm mode.
 */
export function clientOptions(t: FastpathTarget): ClientOptions {
  if (t.tier === 'tcp') return { fastPath: 'off' };
  return { fastPath: 'require', tiers: [t.tier], ...(t.shmMode ? { shm: { mode: t.shmMode } } : {}) };
}

/** Throws unless the client runs on the target's tier: never report a number under the wrong label. */
export function checkTier(client: Pick<Client, 'path'>, t: FastpathTarget): void {
  if (client.path !== t.tier) throw new Error(`the connection runs on tier ${client.path}, not ${t.tier}: this row would measure the wrong thing`);
}
