import { isIP } from 'node:net';
import type net from 'node:net';
import tls from 'node:tls';
import { FastpathError } from '../protocol/errors.js';
import { formatAddress, type Address, type TlsAddress } from './address.js';
import { NetConnection } from './net-connection.js';
import { listenServer, NetListener } from './net-transport.js';
import { clientCertRejected, isTlsError, tlsFailure } from './tls-errors.js';
import type { ConnectOptions, Connection, ListenOptions, Listener, TlsClientOptions, TlsDetails, TlsServerOptions, TransportFactory } from './types.js';

/** How long a server waits for a client to finish the TLS handshake, unless `tls.handshakeTimeout` says otherwise. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

function describe(host: string | undefined, port: number | undefined): string {
  if (host === undefined || port === undefined) return 'tls://?';
  return formatAddress({ scheme: 'tls', host, port });
}

function dn(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
}

function detailsOf(socket: tls.TLSSocket, servername: string | undefined): TlsDetails {
  const cert = socket.getPeerCertificate();
  const out: TlsDetails = {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    authorized: socket.authorized,
  };
  if (servername) out.servername = servername;
  if (cert && typeof cert.fingerprint256 === 'string') {
    out.peerCertificate = {
      subject: dn(cert.subject as unknown as Record<string, unknown>),
      issuer: dn(cert.issuer as unknown as Record<string, unknown>),
      fingerprint256: cert.fingerprint256,
      validTo: cert.valid_to,
      ...(cert.subjectaltname ? { subjectAltName: cert.subjectaltname } : {}),
    };
  }
  return out;
}

/**
 * A Connection over a TLSSocket. It is a NetConnection (the same write coalescing: the first frame
 * of a tick goes out at once, the rest of the tick's frames in one write), with the TLS details
 * and TLS errors reported as `tls-failed`.
 */
export class TlsConnection extends NetConnection {
  readonly tls: TlsDetails;
  private answered = false;
  private peerEnded = false;

  constructor(
    socket: tls.TLSSocket,
    remote: string,
    local: string,
    servername: string | undefined,
    /** A client that presented a certificate: a silent close before any answer is explained. */
    private readonly presentedCert = false,
  ) {
    super(socket, 'tcp', remote, local);
    this.tls = detailsOf(socket, servername);
    socket.once('data', () => {
      this.answered = true;
    });
    socket.once('end', () => {
      this.peerEnded = true;
    });
  }

  protected override explainError(err: Error): Error {
    if (isTlsError(err)) {
      // An alert right after the handshake (TLS 1.3 reports a missing client certificate this
      // way) is still a failed handshake from the application's point of view.
      return tlsFailure(err, this.answered ? `TLS on the connection with ${this.remote}` : `TLS handshake with ${this.remote}`);
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (this.rejectedCertLikely() && (code === 'ECONNRESET' || code === 'EPIPE')) return this.rejectedCert(`connection lost (${code})`, 'connection-error', err);
    return err;
  }

  protected override explainClose(): Error | undefined {
    return this.peerEnded && this.rejectedCertLikely() ? this.rejectedCert('connection closed by peer', 'peer-closed') : undefined;
  }

  /**
   * With TLS 1.3 a server checks the client's certificate after the client has finished its side
   * of the handshake, and node's server then closes without an alert. So a client that presented
   * a certificate and sees the connection end before any answer is told what most likely happened.
   */
  private rejectedCertLikely(): boolean {
    return this.presentedCert && !this.answered;
  }

  private rejectedCert(what: string, reason: string, cause?: Error): FastpathError {
    return new FastpathError(
      'UNAVAILABLE',
      `${what} right after the TLS handshake, before any answer: the server at ${this.remote} most likely rejected this client's certificate (the server's 'error' event says why)`,
      { ...(cause ? { cause } : {}), details: { reason } },
    );
  }
}

function cancelled(what: string): FastpathError {
  return new FastpathError('CANCELLED', `connect to ${what} was aborted`);
}

function connectTls(address: TlsAddress, options: ConnectOptions): Promise<TlsConnection> {
  const what = formatAddress(address);
  const { host, port } = address;
  const t: TlsClientOptions = options.tls ?? {};
  // SNI and the hostname check use the host name; an IP address is checked against the IP SANs.
  const servername = t.servername ?? (isIP(host) === 0 ? host : undefined);
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(cancelled(what));
      return;
    }
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({ ...t, host, port, ...(servername ? { servername } : {}) });
    } catch (err) {
      // Options node refuses at once (a key that does not parse...): final, not worth a retry.
      reject(badOption(`cannot connect to ${what}: invalid TLS options: ${(err as Error).message}`, err));
      return;
    }
    let tcpUp = false;
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      socket.off('connect', onTcp);
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onTcp = (): void => {
      tcpUp = true;
    };
    const onSecure = (): void => {
      cleanup();
      const presented = t.cert !== undefined || t.pfx !== undefined;
      resolve(new TlsConnection(socket, describe(socket.remoteAddress, socket.remotePort), describe(socket.localAddress, socket.localPort), servername, presented));
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      cleanup();
      socket.destroy();
      if (!tcpUp) {
        reject(new FastpathError('UNAVAILABLE', `cannot connect to ${what}: ${err.code ?? err.message}`, { cause: err, details: { reason: 'connect-failed', errno: err.code } }));
      } else {
        // Everything after the TCP connect and before secureConnect is the TLS handshake.
        reject(tlsFailure(err, `TLS handshake with ${what}`, isTlsError(err) ? undefined : `the connection broke during the handshake: ${err.message}`));
      }
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(cancelled(what));
    };
    socket.once('connect', onTcp);
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        const phase = tcpUp ? 'the TLS handshake with' : 'connect to';
        reject(new FastpathError('UNAVAILABLE', `${phase} ${what} timed out after ${options.timeoutMs} ms`, { details: { reason: 'connect-timeout' } }));
      }, options.timeoutMs);
    }
  });
}

function isSecureContext(v: unknown): v is tls.SecureContext {
  return typeof v === 'object' && v !== null && 'context' in v;
}

/** Builds the SNICallback for a `sni` map (exact names, then `*.` one-label wildcards). */
function sniCallback(o: TlsServerOptions): tls.TlsOptions['SNICallback'] {
  const map = o.sni;
  if (!map) return o.SNICallback;
  const contexts = new Map<string, tls.SecureContext>();
  for (const [name, entry] of Object.entries(map)) {
    const ctx = isSecureContext(entry) ? entry : tls.createSecureContext({ ...(o.ca !== undefined ? { ca: o.ca } : {}), ...(o.crl !== undefined ? { crl: o.crl } : {}), ...entry });
    contexts.set(name.toLowerCase(), ctx);
  }
  const fallback = o.SNICallback;
  return (servername, cb) => {
    const name = servername.toLowerCase();
    const dot = name.indexOf('.');
    const ctx = contexts.get(name) ?? (dot > 0 ? contexts.get(`*${name.slice(dot)}`) : undefined);
    if (ctx) cb(null, ctx);
    else if (fallback) fallback(servername, cb);
    else cb(null, undefined); // the default cert/key
  };
}

function badOption(message: string, cause?: unknown): FastpathError {
  return new FastpathError('INVALID_ARGUMENT', message, { ...(cause !== undefined ? { cause } : {}), details: { reason: 'bad-option' } });
}

async function listenTls(address: TlsAddress, onConnection: (c: Connection) => void, options: ListenOptions): Promise<Listener> {
  const what = formatAddress(address);
  const o = options.tls;
  if (!o || (o.cert === undefined && o.pfx === undefined && o.sni === undefined && o.SNICallback === undefined)) {
    throw badOption(`cannot listen on ${what}: a tls:// address needs a certificate (the server's tls option: { cert, key } or pfx)`);
  }
  const { sni: _sni, ...rest } = o;
  const SNICallback = sniCallback(o);
  const rejectUnauthorized = rest.rejectUnauthorized !== false;
  /** Where each raw socket came from: a failed handshake destroys the TLS socket's own address. */
  const peers = new WeakMap<net.Socket, string>();
  /** The bound address (the real port once listening), for messages. */
  let local = what;
  let server: tls.Server;
  try {
    server = tls.createServer(
      { handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT_MS, ...rest, ...(SNICallback ? { SNICallback } : {}), noDelay: true },
      (socket) => {
        const remote = describe(socket.remoteAddress, socket.remotePort);
        const servername = typeof socket.servername === 'string' ? socket.servername : undefined;
        onConnection(new TlsConnection(socket, remote, describe(socket.localAddress, socket.localPort), servername));
      },
    );
  } catch (err) {
    throw badOption(`cannot listen on ${what}: invalid TLS options: ${(err as Error).message}`, err);
  }
  server.on('connection', (raw: net.Socket) => peers.set(raw, describe(raw.remoteAddress, raw.remotePort)));
  server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
    // node keeps the raw socket as _parent; by now the TLS socket has lost its address.
    const raw = (socket as unknown as { _parent?: net.Socket })._parent;
    const peer = (raw && peers.get(raw)) ?? describe(socket.remoteAddress, socket.remotePort);
    const phase = `TLS handshake with ${peer} (on ${local})`;
    let e: FastpathError;
    if (socket.authorizationError && rejectUnauthorized) {
      // requestCert: the client finished its side of the handshake with a certificate that does not verify.
      e = clientCertRejected(String(socket.authorizationError), phase);
    } else if (isTlsError(err)) {
      e = tlsFailure(err, phase);
    } else {
      e = tlsFailure(err, phase, `the client closed the connection during the handshake (${err.message}); it may not trust this server's certificate`);
    }
    options.onError?.(e);
  });
  // Errors on the listening socket after it is up (rare: EMFILE on accept) must not crash the process.
  server.on('error', () => {});
  await listenServer(server, { host: address.host, port: address.port, ipv6Only: false }, what);
  const bound = server.address() as net.AddressInfo;
  local = formatAddress({ scheme: 'tls', host: bound.address, port: bound.port });
  return new NetListener(server, local);
}

/** `tls://host:port`: TLS over TCP with node:tls (docs/tls.md). */
export const tlsTransport: TransportFactory = {
  scheme: 'tls',
  connect(address: Address, options: ConnectOptions): Promise<Connection> {
    return connectTls(address as TlsAddress, options);
  },
  listen(address: Address, onConnection, options: ListenOptions): Promise<Listener> {
    return listenTls(address as TlsAddress, onConnection, options);
  },
};
