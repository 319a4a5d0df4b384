/**
 * The `shm` tier's two entry points (docs/fast-path.md): a server makes an offer, a client attaches
 * to its token, and each gets a ShmConnection (shm-connection.ts).
 *
 *   server side                               client side
 *   const offer = createShmOffer(opts)
 *   send offer.token over the socket  ───▶    const conn = attachShm(token, opts)
 *   const conn = await offer.attached
 */
import { binding, nativeStatus, NativeMode, type NativeBinding, type NativeChannelOptions, type NativeShmChannel, type ShmToken } from './native.js';
import { ShmConnection } from './shm-connection.js';
import { ShmError, toError } from './shm-error.js';
import { checkSpinThread, defaultDirBase, int, resolveShmOptions, SHM_DEFAULTS, type ResolvedShmOptions, type ShmOfferOptions, type ShmOptions } from './shm-options.js';
import { describeToken, parseShmToken } from './shm-token.js';

function requireBinding(): NativeBinding {
  if (!binding) throw new ShmError('ENATIVE', `native addon unavailable: ${nativeStatus.reason ?? 'unknown reason'}`);
  return binding;
}

function nativeOptions(o: ResolvedShmOptions, dirBase?: string): NativeChannelOptions {
  return {
    ringBytes: o.ringBytes,
    slotBytes: o.slotBytes,
    batchMax: o.batchMax,
    spinMicros: o.spinMicros,
    mode: NativeMode[o.mode],
    ...(dirBase !== undefined ? { dirBase } : {}),
  };
}

export interface ShmOffer {
  /** Send this to the peer (it is plain JSON); the peer calls attachShm(token). */
  readonly token: ShmToken;
  /** Resolves once the peer has attached (the names are unlinked by then); rejects on timeout or cancel. */
  readonly attached: Promise<ShmConnection>;
  /** Withdraws the offer: unlinks everything and rejects `attached`. No effect once attached. */
  cancel(reason?: string): void;
}

/** Creates a segment and doorbells and waits for one peer to attach. Throws ShmError if the addon is unavailable, the options are refused (EINVAL, EMAINTHREAD) or creation fails. */
export function createShmOffer(options: ShmOfferOptions = {}): ShmOffer {
  const b = requireBinding();
  const resolved = resolveShmOptions(options);
  checkSpinThread(resolved);
  const timeoutMs = int('attachTimeoutMs', options.attachTimeoutMs, SHM_DEFAULTS.attachTimeoutMs, 1, 2 ** 31 - 1);
  let conn: ShmConnection | null = null;
  let channel: NativeShmChannel;
  try {
    channel = new b.ShmChannel(0, null, nativeOptions(resolved, options.dirBase ?? defaultDirBase()), (kind, arg) => conn?.handle(kind, arg));
  } catch (e) {
    throw toError(e);
  }
  const token = channel.token();
  const c = new ShmConnection(channel, resolved, describeToken(token, 0), describeToken(token, 1));
  conn = c;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let rejectFn: (err: Error) => void = () => {};
  const attached = new Promise<ShmConnection>((resolve, reject) => {
    rejectFn = reject;
    c.onAttachedInternal = () => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      c.onClose = null;
      resolve(c);
    };
    c.onClose = (err) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      reject(err ?? new ShmError('ECANCELED', 'shm offer closed before the peer attached'));
    };
  });
  // A caller that never awaits must not get an unhandled rejection.
  attached.catch(() => {});
  const cancel = (reason = 'shm offer withdrawn'): void => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    c.onClose = null;
    c.destroy();
    rejectFn(new ShmError(reason.includes('timed out') ? 'ETIMEDOUT' : 'ECANCELED', reason));
  };
  timer = setTimeout(() => cancel(`shm offer timed out: no peer attached within ${timeoutMs} ms`), timeoutMs);
  timer.unref();
  return { token, attached, cancel };
}

/** Attaches to an offer's token; synchronous. Throws ShmError (EBADTOKEN, ENOENT, EPERM, ENATIVE, EMAINTHREAD, ...). */
export function attachShm(token: unknown, options: ShmOptions = {}): ShmConnection {
  const b = requireBinding();
  const t = parseShmToken(token);
  const resolved = { ...resolveShmOptions({ ...options, ringBytes: t.ringBytes }) };
  checkSpinThread(resolved);
  let conn: ShmConnection | null = null;
  let channel: NativeShmChannel;
  try {
    channel = new b.ShmChannel(1, t, nativeOptions(resolved), (kind, arg) => conn?.handle(kind, arg));
  } catch (e) {
    throw toError(e);
  }
  conn = new ShmConnection(channel, resolved, describeToken(t, 1), describeToken(t, 0));
  return conn;
}
