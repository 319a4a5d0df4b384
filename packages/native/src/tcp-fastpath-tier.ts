/**
 * The `tcp-fastpath` tier (Windows): a core `Connection` over the addon's own Winsock sockets,
 * which set SIO_LOOPBACK_FAST_PATH on the listener before it accepts and on the client before it
 * connects (src/win/tcp-fastpath-listener.cc, src/win/tcp-fastpath-socket.cc; the overview is in
 * src/win/tcp-fastpath.cc). When WSAID_MULTIPLE_RIO yields a function table, a
 * connection's sends and receives use Registered I/O (registered buffer pool, a request queue per
 * socket, a completion queue polled in `inline` mode, notified in `worker` mode, polled for a short
 * window then notified in `adaptive` mode); otherwise they are overlapped I/O on libuv's completion
 * port. Either way every completion reaches JS from the event loop. `connection.io` says which.
 *
 * The tier is offered only when the ioctl works here: the first use probes it once on a throw-away
 * socket. Where it fails (WSAEOPNOTSUPP: Wine, old Windows, a WFP callout that forces the slow
 * path), `unavailableReason()` says so, core does not negotiate the tier, and the connection stays
 * on `shm`, `uds` or `tcp` with that reason in its `path` event (docs/windows.md).
 */
import type { Connection } from '@fastpath/core';
import { binding, NativeMode, nativeStatus, type NativeFastPathResult, type NativeTcpFastPathSocket } from './native.js';

/** What the probe found: the ioctl and the RIO function table. */
export interface LoopbackProbe {
  fastPath: NativeFastPathResult;
  rio: NativeFastPathResult;
}

/** How a connection's data moves: Registered I/O, or overlapped I/O on libuv's completion port. */
export interface TcpFastPathIo {
  io: 'rio' | 'iocp';
  /** Why not RIO (no function table, the buffer pool is full, ...). */
  reason?: string;
  /** True when the RIO stack is the in-memory fake (useFakeRioForTest). */
  fake?: boolean;
}

/** How RIO completions are collected: polled, notified, or polled briefly then notified. */
export type TcpFastPathMode = 'inline' | 'worker' | 'adaptive';

export interface TcpFastPathOptions {
  /** Default `adaptive`. Only matters when the socket uses RIO. */
  mode?: TcpFastPathMode;
}

/** The native socket as this file uses it: `io()` and the mode argument are newer than native.ts's type. */
type SocketWithIo = NativeTcpFastPathSocket & { io?(): TcpFastPathIo };
type SocketCtor = new (callback: (kind: number, arg?: Uint8Array | string) => void, mode?: number) => SocketWithIo;

function modeNumber(o: TcpFastPathOptions | Record<string, unknown> = {}): number {
  const m = (o as Record<string, unknown>)['mode'];
  return typeof m === 'string' && m in NativeMode ? NativeMode[m as TcpFastPathMode] : NativeMode.adaptive;
}

/**
 * Test only: tcp-fastpath sockets created after this call use the addon's in-memory fake RIO stack
 * (src/win/rio-fake.h), so that the RIO data path runs where the system has no RIO (Wine). Both
 * ends must be in this process. Returns false without the Windows addon.
 */
export function useFakeRioForTest(): boolean {
  const b = binding as (typeof binding & { rioUseFakeForTest?(): void }) | null;
  if (process.platform !== 'win32' || !b?.rioUseFakeForTest) return false;
  b.rioUseFakeForTest();
  return true;
}

const EV = { DATA: 0, DRAIN: 3, CLOSED: 4, CONNECTED: 5, CONNECTION: 6 } as const;

let probed: LoopbackProbe | undefined;

/** Probes SIO_LOOPBACK_FAST_PATH and WSAID_MULTIPLE_RIO once; null off Windows or without the addon. */
export function probeLoopbackFastPath(): LoopbackProbe | null {
  if (process.platform !== 'win32' || !binding?.probeLoopbackFastPath) return null;
  probed ??= binding.probeLoopbackFastPath();
  return probed;
}

/** "SIO_LOOPBACK_FAST_PATH refused: WSAEOPNOTSUPP (10045)" and the like. */
export function describeFastPathFailure(r: NativeFastPathResult): string {
  const text = r.message && !/^error \d+$/.test(r.message) ? `: ${r.message}` : '';
  return `${r.code ?? 'error'} (${r.error ?? '?'})${text}`;
}

/** Why the tier cannot be used in this process, or undefined. */
export function tcpFastPathUnavailableReason(): string | undefined {
  if (process.platform !== 'win32') return 'SIO_LOOPBACK_FAST_PATH is Windows-only';
  if (!nativeStatus.loaded) return `native addon unavailable: ${nativeStatus.reason ?? 'unknown reason'}`;
  if (!binding?.TcpFastPathSocket) return 'the addon was built without the Windows sockets';
  const p = probeLoopbackFastPath();
  if (!p) return 'the loopback fast path could not be probed';
  if (!p.fastPath.enabled) return `SIO_LOOPBACK_FAST_PATH refused by this system: WSAIoctl failed with ${describeFastPathFailure(p.fastPath)}; plain TCP is used`;
  return undefined;
}

/** A core Connection over one addon socket. */
export class TcpFastPathConnection implements Connection {
  readonly tier = 'tcp-fastpath' as const;
  onClose: ((err?: Error) => void) | null = null;
  onDrain: (() => void) | null = null;
  private dataFn: ((chunk: Uint8Array) => void) | null = null;
  private isClosed = false;
  private nativePending = 0;
  readonly local: string;
  readonly remote: string;

  /** @internal */
  constructor(
    private readonly sock: SocketWithIo,
    /** The fast-path ioctl's outcome on this socket (the listener's, for an accepted one). */
    readonly fastPath: NativeFastPathResult,
  ) {
    const a = sock.addresses();
    this.local = `tcp-fastpath://${a.local ?? '?'}`;
    this.remote = `tcp-fastpath://${a.remote ?? '?'}`;
  }

  /** RIO or IOCP, and why not RIO. */
  get io(): TcpFastPathIo {
    return this.sock.io?.() ?? { io: 'iocp', reason: 'the addon predates RIO' };
  }

  get onData(): ((chunk: Uint8Array) => void) | null {
    return this.dataFn;
  }

  set onData(fn: ((chunk: Uint8Array) => void) | null) {
    this.dataFn = fn;
    if (!this.isClosed) this.sock.setReading(fn !== null);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get pendingBytes(): number {
    if (this.isClosed) return 0;
    if (this.nativePending > 0) this.nativePending = this.sock.pending();
    return this.nativePending;
  }

  write(bytes: Uint8Array): void {
    if (this.isClosed || bytes.length === 0) return;
    const r = this.sock.write(bytes);
    if (r >= 0) this.nativePending = r;
  }

  close(): void {
    if (!this.isClosed) this.sock.close();
  }

  destroy(err?: Error): void {
    if (this.isClosed) return;
    this.sock.destroy();
    this.finish(err);
  }

  /** @internal The native callback. */
  handle(kind: number, arg?: Uint8Array | string): void {
    if (kind === EV.DATA) this.dataFn?.(Buffer.isBuffer(arg) ? arg : Buffer.from(arg as Uint8Array));
    else if (kind === EV.DRAIN) {
      this.nativePending = 0;
      this.onDrain?.();
    } else if (kind === EV.CLOSED) this.finish(typeof arg === 'string' ? Object.assign(new Error(arg), { code: arg.split(':')[0] }) : undefined);
  }

  private finish(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.nativePending = 0;
    const cb = this.onClose;
    this.onClose = null;
    this.dataFn = null;
    this.onDrain = null;
    cb?.(err);
  }
}

function requireSockets(): NonNullable<typeof binding> & Required<Pick<NonNullable<typeof binding>, 'TcpFastPathSocket' | 'TcpFastPathListener'>> {
  if (!binding?.TcpFastPathSocket || !binding.TcpFastPathListener) {
    throw Object.assign(new Error(`tcp-fastpath sockets unavailable: ${nativeStatus.reason ?? 'not a Windows build of the addon'}`), { code: 'ENATIVE' });
  }
  return binding as never;
}

export interface TcpFastPathServer {
  readonly port: number;
  /** The ioctl's outcome on the listening socket. */
  readonly fastPath: NativeFastPathResult;
  close(): void;
}

/** Listens on 127.0.0.1:0 with the fast path attempted before any accept. */
export function listenTcpFastPath(onConnection: (conn: TcpFastPathConnection) => void, options: TcpFastPathOptions = {}): TcpFastPathServer {
  const b = requireSockets();
  const Socket = b.TcpFastPathSocket as SocketCtor;
  const mode = modeNumber(options);
  let closed = false;
  const listener: InstanceType<typeof b.TcpFastPathListener> = new b.TcpFastPathListener((kind: number) => {
    if (kind !== EV.CONNECTION || closed) return;
    let conn: TcpFastPathConnection | null = null;
    const sock = new Socket((k, arg) => conn?.handle(k, arg), mode);
    if (!listener.accept(sock)) {
      sock.destroy();
      return;
    }
    conn = new TcpFastPathConnection(sock, listener.fastPath());
    onConnection(conn);
  });
  const port = listener.listen();
  return {
    port,
    fastPath: listener.fastPath(),
    close() {
      closed = true;
      listener.close();
    },
  };
}

/** Connects to 127.0.0.1:port with the fast path attempted before connect. */
export function connectTcpFastPath(port: number, timeoutMs = 2000, options: TcpFastPathOptions = {}): Promise<TcpFastPathConnection> {
  const b = requireSockets();
  const Socket = b.TcpFastPathSocket as SocketCtor;
  return new Promise((resolve, reject) => {
    let conn: TcpFastPathConnection | null = null;
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(Object.assign(new Error(`tcp-fastpath connect to port ${port} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    const sock = new Socket((kind, arg) => {
      if (conn) return conn.handle(kind, arg);
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (kind === EV.CONNECTED) {
        conn = new TcpFastPathConnection(sock, sock.fastPath());
        resolve(conn);
      } else {
        reject(Object.assign(new Error(typeof arg === 'string' ? arg : 'tcp-fastpath connect failed'), { code: 'ECONNREFUSED' }));
      }
    }, modeNumber(options));
    try {
      sock.connect(port);
    } catch (err) {
      settled = true;
      clearTimeout(timer);
      reject(err as Error);
    }
  });
}

function modeFrom(o: Record<string, unknown> = {}): TcpFastPathMode {
  const m = o['mode'];
  return m === 'inline' || m === 'worker' ? m : 'adaptive';
}

/** The tier as core registers it (structurally core's UpgradeTier). */
export const tcpFastPathTier = {
  tier: 'tcp-fastpath' as const,
  unavailableReason: tcpFastPathUnavailableReason,
  // options.mode ('inline' | 'worker' | 'adaptive') picks how RIO completions are collected.
  async listen(onConnection: (conn: Connection) => void, options: Record<string, unknown>) {
    const server = listenTcpFastPath(onConnection, { mode: modeFrom(options) });
    return {
      async offer() {
        return { params: { port: server.port }, cancel: () => {} };
      },
      async close() {
        server.close();
      },
    };
  },
  async attach(params: Record<string, unknown>, options: Record<string, unknown>): Promise<Connection> {
    const port = params['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error('tcp-fastpath offer has no valid port');
    return connectTcpFastPath(port, 2000, { mode: modeFrom(options) });
  },
};
