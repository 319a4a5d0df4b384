/**
 * The whole native surface of @fastpath/native, typed in one place (the zeromq.js pattern).
 *
 * The addon is loaded once, inside a try/catch, from `build/Release/fastpath_native.node` relative
 * to the package root (a build from source), else from `prebuilds/<platform>-<arch>/fastpath_native.node`
 * (a prebuilt binary shipped in the tarball), so this works from `src/` (tests, tsx) and from
 * `dist/` (the bundle), on Linux and on Windows. When
 * it cannot be loaded, `nativeStatus` says why and `binding` is null: callers fall back to a
 * slower tier and report the reason. `FASTPATH_NATIVE=0` (or false/off, any case) disables it on purpose.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether the addon loaded, and if not, why. */
export interface NativeStatus {
  readonly loaded: boolean;
  /** Why it did not load (absent when loaded). */
  readonly reason?: string;
  /** The file that was loaded or tried. */
  readonly path?: string;
}

/** The token that lets a second process attach to a segment. Plain JSON: send it as it is. */
export interface ShmToken {
  /** Layout version of the segment. */
  readonly v: number;
  /** The POSIX shm name: "/fp-", the creator's pid in 8 hex digits, "-", 24 random hex digits. */
  readonly shm: string;
  /** The private (0700) directory holding the two doorbell FIFOs. */
  readonly dir: string;
  /** Bytes per ring (per direction). */
  readonly ringBytes: number;
  /** 32 hex digits; must match the segment header. */
  readonly key: string;
}

/** Numeric mode as the addon takes it. */
export const NativeMode = { inline: 0, worker: 1, adaptive: 2 } as const;

/** Options the addon takes. Out-of-range values are rejected (TS validates them first). */
export interface NativeChannelOptions {
  ringBytes: number;
  slotBytes: number;
  batchMax: number;
  spinMicros: number;
  mode: 0 | 1 | 2;
  /** Where the creator makes its doorbell directory ($XDG_RUNTIME_DIR or the tmpdir). */
  dirBase?: string;
}

/** Event kinds passed as the first argument of the channel callback. */
export const NativeEvent = {
  /**
   * arg: one Uint8Array, a copy of the bytes. Chunks up to 4 KiB are views into a shared 8 KiB
   * ArrayBuffer (as Buffer.allocUnsafe's pool), larger ones are Buffers of their own.
   */
  DATA: 0,
  /** arg: Uint8Array[], in order (as for DATA). */
  BATCH: 1,
  /** The attacher has mapped everything; the names are unlinked. Creator only. */
  ATTACHED: 2,
  /** The queued bytes have all gone into the ring after a period of backpressure. */
  DRAIN: 3,
  /** The channel is closed; arg is an error message, or undefined for a clean close. */
  CLOSED: 4,
} as const;

export type NativeCallback = (kind: number, arg?: Uint8Array | Uint8Array[] | string) => void;

export interface NativeChannelInfo {
  side: 0 | 1;
  open: boolean;
  mode: 0 | 1 | 2;
  ringBytes: number;
  slotBytes: number;
  batchMax: number;
  spinMicros: number;
  /** The idle handle is running (the loop polls this ring). */
  polling: boolean;
  /** The consumer-asleep flag is set: the peer rings the doorbell on its next write. */
  armed: boolean;
  /** Adaptive mode: more tasks were runnable than cores at the last sample, so it does not poll. */
  contended: boolean;
  /** spin() calls that polled the ring. */
  spins: number;
  /** Of those, the ones that delivered something. */
  spinDeliveries: number;
}

/** One end of a shared-memory channel. All methods are safe to call after close. */
export interface NativeShmChannel {
  /** Copies what fits into the ring, queues the rest natively. Returns the bytes queued, or -1 if not open. */
  write(bytes: Uint8Array): number;
  pending(): number;
  /** Start (true) or stop (false) handing received bytes to the callback. Starts stopped. */
  setReading(on: boolean): void;
  /**
   * Busy-polls the receive ring in this thread for at most `budgetMicros` (0 to MAX_SPIN_MICROS,
   * fractional allowed; a RangeError otherwise), flushing queued writes as it goes. What arrives
   * goes to the callback synchronously, from inside this call (DATA or BATCH, bounded by batchMax
   * as in a loop step), and it returns at once: the number of chunks delivered. 0: the budget ran
   * out, or it did not poll (not reading, peer not attached yet, already inside spin). -1: not
   * open. An exception thrown by the callback is thrown by spin(). Afterwards the channel goes
   * back to its mode on the next loop turn (worker re-arms its doorbell).
   *
   * `perTurn`: the first such spin in an event-loop turn (libuv's loop_count) opens a window of
   * `budgetMicros`, wall clock; it and every later `perTurn` spin in the same turn end with the
   * window (0 once it has closed, even with data waiting: the loop delivers that).
   */
  spin(budgetMicros: number, perTurn?: boolean): number;
  /** Graceful: true if closed at once, else CLOSED follows when the queue is flushed. */
  close(): boolean;
  /** At once, no callback. Idempotent. */
  destroy(): void;
  /** Creator: the token to hand to the attacher. */
  token(): ShmToken;
  info(): NativeChannelInfo;
  /** Tests only: plays a hostile peer, writing `value` at a header `offset` and ringing the peer. */
  pokeForTest(offset: number, value: bigint, width: 4 | 8): boolean;
}

export interface NativeConstants {
  readonly VERSION: number;
  readonly HEADER_BYTES: number;
  readonly MIN_RING_BYTES: number;
  readonly MAX_RING_BYTES: number;
  /** The longest budget spin() takes, in µs (100000). */
  readonly MAX_SPIN_MICROS: number;
  readonly OFF_MAGIC: number;
  readonly OFF_RING_BYTES: number;
  readonly OFF_TAIL0: number;
  readonly OFF_TAIL1: number;
  readonly OFF_HEAD0: number;
  readonly OFF_HEAD1: number;
}

/** The outcome of one SIO_LOOPBACK_FAST_PATH attempt, or of the RIO table lookup (Windows). */
export interface NativeFastPathResult {
  attempted: boolean;
  enabled: boolean;
  /** The Winsock error number when it failed (10045: WSAEOPNOTSUPP). */
  error?: number;
  code?: string;
  message?: string;
}

/** A tcp-fastpath socket (Windows). Events: 0 DATA (Buffer), 3 DRAIN, 4 CLOSED (error string or undefined), 5 CONNECTED. */
export interface NativeTcpFastPathSocket {
  connect(port: number): void;
  /** Returns the bytes still queued, or -1 when not open. */
  write(bytes: Uint8Array): number;
  setReading(on: boolean): void;
  pending(): number;
  close(): void;
  destroy(): void;
  fastPath(): NativeFastPathResult;
  addresses(): { local?: string; remote?: string };
}

/** A tcp-fastpath listener (Windows). Event 6: a connection to accept() from inside the callback. */
export interface NativeTcpFastPathListener {
  listen(): number;
  accept(socket: NativeTcpFastPathSocket): boolean;
  close(): void;
  fastPath(): NativeFastPathResult;
}

export interface NativeBinding {
  /** role 0 creates a segment (token ignored), role 1 attaches with the token. Throws an Error with `code` on failure. */
  ShmChannel: new (role: 0 | 1, token: ShmToken | null, options: NativeChannelOptions, callback: NativeCallback) => NativeShmChannel;
  constants: NativeConstants;
  /** SO_PEERCRED of a connected Unix socket descriptor; null when it cannot be read. */
  peerCredentials(fd: number): { uid: number; gid: number; pid: number } | null;
  /** Windows only. */
  TcpFastPathSocket?: new (callback: (kind: number, arg?: Uint8Array | string) => void) => NativeTcpFastPathSocket;
  /** Windows only. */
  TcpFastPathListener?: new (callback: (kind: number) => void) => NativeTcpFastPathListener;
  /** Windows only: SIO_LOOPBACK_FAST_PATH and the WSAID_MULTIPLE_RIO lookup on a throw-away socket. */
  probeLoopbackFastPath?(): { fastPath: NativeFastPathResult; rio: NativeFastPathResult };
  /** Windows only: HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid, or null. */
  machineGuid?(): string | null;
}

/** Where a prebuilt binary for this platform lives, relative to the package root. */
export function prebuildDir(platform: string = process.platform, arch: string = process.arch): string {
  return join('prebuilds', `${platform}-${arch}`);
}

/** The package root: the directory holding package.json, found upward from this file (src/ or dist/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === '@fastpath/native') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

function fallbackReason(root: string): string | undefined {
  try {
    return readFileSync(join(root, 'build', 'fallback-reason.txt'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function load(): { binding: NativeBinding | null; status: NativeStatus } {
  // Exactly 0, false or off (case-insensitive, trimmed) disables it, as in core's native-loader.
  const flag = process.env['FASTPATH_NATIVE'];
  if (flag !== undefined && ['0', 'false', 'off'].includes(flag.trim().toLowerCase())) {
    return { binding: null, status: { loaded: false, reason: `disabled by FASTPATH_NATIVE=${flag}` } };
  }
  if (process.platform !== 'linux' && process.platform !== 'win32') {
    return { binding: null, status: { loaded: false, reason: `the native transports are built for Linux and Windows only (platform ${process.platform})` } };
  }
  let path: string | undefined;
  let root: string | undefined;
  try {
    root = packageRoot();
    // A build from source first, then the prebuilt binary for this platform. The first that loads
    // wins: a checkout holds a Linux build/Release next to a win32 prebuild, and the other OS's
    // file fails to load ("not a valid Win32 application", "invalid ELF header").
    const candidates = [join(root, 'build', 'Release', 'fastpath_native.node'), join(root, prebuildDir(), 'fastpath_native.node')].filter((p) => existsSync(p));
    if (candidates.length === 0) {
      path = join(root, 'build', 'Release', 'fastpath_native.node');
      const why = fallbackReason(root);
      return { binding: null, status: { loaded: false, reason: why ? `addon not built: ${why}` : 'addon not built (run npm ci or npm run build:native)', path } };
    }
    const require = createRequire(import.meta.url);
    let firstError: Error | undefined;
    for (const candidate of candidates) {
      path = candidate;
      try {
        const binding = require(candidate) as NativeBinding;
        if (typeof binding?.ShmChannel !== 'function') throw new Error('the addon has no ShmChannel');
        return { binding, status: { loaded: true, path } };
      } catch (err) {
        firstError ??= err as Error;
      }
    }
    path = candidates[0];
    throw firstError;
  } catch (err) {
    return { binding: null, status: { loaded: false, reason: `addon failed to load: ${(err as Error).message}`, ...(path ? { path } : {}) } };
  }
}

const loaded = load();

/** The addon, or null when it is unavailable (see `nativeStatus.reason`). */
export const binding: NativeBinding | null = loaded.binding;
/** Whether the addon loaded, and why not. */
export const nativeStatus: NativeStatus = Object.freeze(loaded.status);
