import { setHostIdentitySource } from './host-identity.js';
import { registerTransport } from './registry.js';
import { registerUpgradeTier } from './upgrade-tier.js';
import { setPeerCredentialsReader } from './peer-credentials.js';

/** Whether the native package loaded, and why not. */
export interface NativeStatus {
  loaded: boolean;
  reason?: string;
  /** Tiers it registered. */
  tiers?: string[];
}

/**
 * What core hands the native package. The native package registers through this object rather
 * than importing core itself, so a second installed copy of core can never receive the
 * registration by mistake (the nats.js transport-factory pattern).
 */
export interface NativeHost {
  registerUpgradeTier: typeof registerUpgradeTier;
  registerTransport: typeof registerTransport;
  setHostIdentitySource: typeof setHostIdentitySource;
  /** Lets the uds tier check the uid of the process at the other end (SO_PEERCRED). */
  setPeerCredentialsReader: typeof setPeerCredentialsReader;
}

interface NativeModule {
  register?: (host: NativeHost) => NativeStatus;
}

let loading: Promise<NativeStatus> | undefined;

/**
 * Looks for @fastpath/native with a guarded dynamic import, once. Never throws: a missing
 * package, an addon that failed to build, or FASTPATH_NATIVE=0 (or false/off) give `loaded: false` and a reason,
 * and core carries on with node:net.
 */
export function loadNative(): Promise<NativeStatus> {
  loading ??= (async (): Promise<NativeStatus> => {
    const flag = process.env.FASTPATH_NATIVE;
    if (flag !== undefined && ['0', 'false', 'off'].includes(flag.trim().toLowerCase())) {
      return { loaded: false, reason: `disabled by FASTPATH_NATIVE=${flag}` };
    }
    let mod: NativeModule;
    try {
      const name = '@fastpath/native';
      mod = (await import(/* @vite-ignore */ name)) as NativeModule;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { loaded: false, reason: code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? '@fastpath/native is not installed' : `@fastpath/native failed to load: ${(err as Error).message}` };
    }
    if (typeof mod.register !== 'function') return { loaded: false, reason: '@fastpath/native has no register()' };
    try {
      return mod.register({ registerUpgradeTier, registerTransport, setHostIdentitySource, setPeerCredentialsReader });
    } catch (err) {
      return { loaded: false, reason: `@fastpath/native failed to register: ${(err as Error).message}` };
    }
  })();
  return loading;
}
