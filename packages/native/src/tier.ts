/**
 * Registration with @fastpath/core (the nats.js transport-factory pattern: core hands us a host
 * object, we never import core at run time). The shapes below mirror core's UpgradeTier and
 * NativeHost structurally, so core's loader can call `register(host)` with its own objects.
 */
import type { Connection } from '@fastpath/core';
import { binding, nativeStatus } from './native.js';
import { sweepStaleShm } from './sweep.js';
import { tcpFastPathTier } from './tcp-fastpath-tier.js';
import { attachShm, createShmOffer, type ShmOffer } from './shm-offer.js';
import { defaultDirBase, type ShmMode, type ShmOfferOptions, type ShmSpinOptions } from './shm-options.js';

export interface ShmTierOffer {
  params: Record<string, unknown>;
  cancel(): void;
}

export interface ShmTierServer {
  offer(): Promise<ShmTierOffer>;
  close(): Promise<void>;
}

export interface ShmUpgradeTier {
  readonly tier: 'shm';
  unavailableReason(): string | undefined;
  listen(onConnection: (conn: Connection) => void, options: Record<string, unknown>): Promise<ShmTierServer>;
  attach(params: Record<string, unknown>, options: Record<string, unknown>): Promise<Connection>;
}

/** The tcp-fastpath tier (Windows), the same shape with its own name. */
export interface TcpFastPathUpgradeTier extends Omit<ShmUpgradeTier, 'tier'> {
  readonly tier: 'tcp-fastpath';
}

/** What core passes to register(); only the parts this package uses. */
export interface NativeHostLike {
  registerUpgradeTier(tier: ShmUpgradeTier | TcpFastPathUpgradeTier): void;
  /** Windows: the host identity from the machine GUID, read from the registry by the addon. */
  setHostIdentitySource?(material: string, source: string): void;
  /** Lets core read SO_PEERCRED (core's uds tier refuses channels from another user). */
  setPeerCredentialsReader?(reader: (fd: number) => { uid: number; gid: number; pid: number } | null): void;
}

export interface RegisterResult {
  loaded: boolean;
  reason?: string;
  tiers?: string[];
}

const MODES: readonly string[] = ['inline', 'worker', 'adaptive'];

/** Picks the shm knobs out of a tier-options bag, ignoring anything of the wrong type. */
export function shmOptionsFrom(o: Record<string, unknown> = {}): ShmOfferOptions {
  const out: ShmOfferOptions = {};
  if (typeof o['mode'] === 'string' && MODES.includes(o['mode'])) out.mode = o['mode'] as ShmMode;
  for (const k of ['spinMicros', 'batchMax', 'ringBytes', 'slotBytes', 'attachTimeoutMs'] as const) {
    if (typeof o[k] === 'number') out[k] = o[k] as number;
  }
  if (typeof o['dirBase'] === 'string') out.dirBase = o['dirBase'] as string;
  // { spin: { budgetMicros, allowMainThread? } }, passed through; resolveShmOptions validates it.
  const spin = o['spin'] as Record<string, unknown> | null | undefined;
  if (typeof spin === 'object' && spin !== null && typeof spin['budgetMicros'] === 'number') {
    const s: ShmSpinOptions = { budgetMicros: spin['budgetMicros'] };
    if (typeof spin['allowMainThread'] === 'boolean') s.allowMainThread = spin['allowMainThread'];
    out.spin = s;
  }
  return out;
}

export const shmTier: ShmUpgradeTier = {
  tier: 'shm',
  unavailableReason() {
    return nativeStatus.loaded ? undefined : `native addon unavailable: ${nativeStatus.reason ?? 'unknown reason'}`;
  },
  async listen(onConnection, options) {
    // Segments and doorbell directories of servers of this uid that were killed between an offer
    // and the attach (their names carry the pid). Bounded, best effort.
    sweepStaleShm(shmOptionsFrom(options).dirBase ?? defaultDirBase());
    const offers = new Set<ShmOffer>();
    let closed = false;
    return {
      async offer() {
        if (closed) throw new Error('shm tier server is closed');
        const o = createShmOffer(shmOptionsFrom(options));
        offers.add(o);
        o.attached.then(
          (conn) => {
            offers.delete(o);
            if (closed) conn.destroy();
            else onConnection(conn);
          },
          () => offers.delete(o),
        );
        return { params: { ...o.token }, cancel: () => o.cancel() };
      },
      async close() {
        closed = true;
        for (const o of offers) o.cancel('shm tier server closed');
        offers.clear();
      },
    };
  },
  async attach(params, options) {
    return attachShm(params, shmOptionsFrom(options));
  },
};

/** Called by core's native loader. Registers the shm tier when the addon loaded. */
export function register(host: NativeHostLike): RegisterResult {
  if (!nativeStatus.loaded) return { loaded: false, ...(nativeStatus.reason ? { reason: nativeStatus.reason } : {}) };
  host.registerUpgradeTier(shmTier);
  const b = binding;
  if (process.platform === 'win32') {
    // Named pipes carry no SO_PEERCRED; the shm objects' owner and DACL do the uid check instead.
    // The same material as core's own win32 branch (reg query), so both agree on one machine.
    const guid = b?.machineGuid?.();
    if (guid && host.setHostIdentitySource) host.setHostIdentitySource(`win32|${guid.toLowerCase()}`, 'windows machine GUID');
    if (b?.TcpFastPathSocket) {
      host.registerUpgradeTier(tcpFastPathTier);
      return { loaded: true, tiers: ['shm', 'tcp-fastpath'] };
    }
    return { loaded: true, tiers: ['shm'] };
  }
  if (b && host.setPeerCredentialsReader) host.setPeerCredentialsReader((fd) => b.peerCredentials(fd));
  return { loaded: true, tiers: ['shm'] };
}
