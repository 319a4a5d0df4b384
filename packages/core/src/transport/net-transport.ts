import { chmod, unlink } from 'node:fs/promises';
import net from 'node:net';
import { FastpathError } from '../protocol/errors.js';
import { formatAddress, type Address, type TcpAddress, type UnixAddress } from './address.js';
import { NetConnection } from './net-connection.js';
import type { ConnectOptions, Connection, ListenOptions, Listener, Tier, TransportFactory } from './types.js';

function describe(socket: net.Socket, side: 'remote' | 'local', unixPath?: string): string {
  if (unixPath !== undefined) return `unix:${unixPath}`;
  const host = side === 'remote' ? socket.remoteAddress : socket.localAddress;
  const port = side === 'remote' ? socket.remotePort : socket.localPort;
  if (host === undefined || port === undefined) return 'tcp://?';
  return formatAddress({ scheme: 'tcp', host, port });
}

function connectSocket(opts: net.NetConnectOpts, options: ConnectOptions, what: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new FastpathError('CANCELLED', `connect to ${what} was aborted`));
      return;
    }
    const socket = net.connect(opts);
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      cleanup();
      socket.destroy();
      reject(new FastpathError('UNAVAILABLE', `cannot connect to ${what}: ${err.code ?? err.message}`, { cause: err, details: { reason: 'connect-failed', errno: err.code } }));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(new FastpathError('CANCELLED', `connect to ${what} was aborted`));
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        reject(new FastpathError('UNAVAILABLE', `connect to ${what} timed out after ${options.timeoutMs} ms`, { details: { reason: 'connect-timeout' } }));
      }, options.timeoutMs);
    }
  });
}

/** Listens, turning a failure into UNAVAILABLE 'listen-failed' (tls-transport.ts uses it too). */
export function listenServer(server: net.Server, opts: net.ListenOptions, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new FastpathError('UNAVAILABLE', `cannot listen on ${what}: ${err.code ?? err.message}`, { cause: err, details: { reason: 'listen-failed', errno: err.code } }));
    };
    server.once('error', onError);
    server.listen(opts, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** A listening net.Server (or tls.Server, its subclass) as a Listener. */
export class NetListener implements Listener {
  constructor(
    private readonly server: net.Server,
    readonly address: string,
  ) {}

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function makeServer(tier: Tier, onConnection: (c: Connection) => void, unixPath?: string): net.Server {
  const server = net.createServer({ noDelay: true }, (socket) => {
    onConnection(new NetConnection(socket, tier, describe(socket, 'remote', unixPath !== undefined ? unixPath : undefined), describe(socket, 'local', unixPath)));
  });
  // Errors on the listening socket after it is up (rare: EMFILE on accept) must not crash the process.
  server.on('error', () => {});
  return server;
}

export const tcpTransport: TransportFactory = {
  scheme: 'tcp',
  async connect(address: Address, options: ConnectOptions): Promise<Connection> {
    const { host, port } = address as TcpAddress;
    const socket = await connectSocket({ host, port, noDelay: true }, options, formatAddress(address));
    return new NetConnection(socket, 'tcp', describe(socket, 'remote'), describe(socket, 'local'));
  },
  async listen(address: Address, onConnection, _options: ListenOptions): Promise<Listener> {
    const { host, port } = address as TcpAddress;
    const server = makeServer('tcp', onConnection);
    await listenServer(server, { host, port, ipv6Only: false }, formatAddress(address));
    const bound = server.address() as net.AddressInfo;
    return new NetListener(server, formatAddress({ scheme: 'tcp', host: bound.address, port: bound.port }));
  },
};

async function isStaleSocket(path: string): Promise<boolean> {
  try {
    const s = await connectSocket({ path }, { timeoutMs: 500 }, `unix:${path}`);
    s.destroy();
    return false;
  } catch {
    return true;
  }
}

export const unixTransport: TransportFactory = {
  scheme: 'unix',
  async connect(address: Address, options: ConnectOptions): Promise<Connection> {
    const { path } = address as UnixAddress;
    const socket = await connectSocket({ path }, options, `unix:${path}`);
    return new NetConnection(socket, 'uds', `unix:${path}`, `unix:${path}`);
  },
  async listen(address: Address, onConnection, options: ListenOptions): Promise<Listener> {
    const { path } = address as UnixAddress;
    const server = makeServer('uds', onConnection, path);
    try {
      await listenServer(server, { path }, `unix:${path}`);
    } catch (err) {
      // A socket file left by a process that died: take it over only if nobody answers on it.
      if ((err as FastpathError).details?.errno !== 'EADDRINUSE' || !(await isStaleSocket(path))) throw err;
      await unlink(path).catch(() => {});
      await listenServer(server, { path }, `unix:${path}`);
    }
    await chmod(path, options.socketMode ?? 0o600);
    return new NetListener(server, `unix:${path}`);
  },
};
