/**
 * @fastpath/native: the same-host fast-path transports (docs/fast-path.md).
 *
 * `nativeStatus` says whether the addon loaded and why not. When it did not, createShmOffer and
 * attachShm throw ShmError('ENATIVE'), and the caller stays on `uds` or `tcp`.
 */
export { nativeStatus, type NativeStatus, type ShmToken } from './native.js';
export { ShmConnection } from './shm-connection.js';
export { ShmError } from './shm-error.js';
export { attachShm, createShmOffer, type ShmOffer } from './shm-offer.js';
export {
  SHM_DEFAULTS,
  SHM_SPIN_MAX_MICROS,
  resolveShmOptions,
  type ResolvedShmOptions,
  type ShmMode,
  type ShmOfferOptions,
  type ShmOptions,
  type ShmSpinOptions,
} from './shm-options.js';
export { parseShmToken } from './shm-token.js';
import { nativeStatus } from './native.js';

/** True when the shm tier can be offered or attached in this process. */
export const nativeAvailable: boolean = nativeStatus.loaded;
export { sweepStaleShm, type SweepResult } from './sweep.js';
export { register, shmTier, shmOptionsFrom, type NativeHostLike, type RegisterResult, type ShmUpgradeTier, type TcpFastPathUpgradeTier } from './tier.js';
export {
  TcpFastPathConnection,
  connectTcpFastPath,
  listenTcpFastPath,
  probeLoopbackFastPath,
  tcpFastPathTier,
  tcpFastPathUnavailableReason,
  useFakeRioForTest,
  type LoopbackProbe,
  type TcpFastPathIo,
  type TcpFastPathMode,
  type TcpFastPathOptions,
  type TcpFastPathServer,
} from './tcp-fastpath-tier.js';
export { type NativeFastPathResult } from './native.js';
