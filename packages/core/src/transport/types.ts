import type { ConnectionOptions as NodeTlsConnectionOptions, SecureContext, SecureContextOptions, TlsOptions as NodeTlsOptions } from 'node:tls';
import type { FastpathError } from '../protocol/errors.js';
import type { Address } from './address.js';

/**
 * The tier a connection runs on, fastest first. Only `tcp` and `uds` exist in pure TypeScript;
 * the others are provided by @fastpath/native.
 */
export type Tier = 'shm' | 'uds' | 'tcp-fastpath' | 'tcp';

/**
 * Bytes in, bytes out. A Connection knows nothing of frames: the protocol layer above it hands it
 * complete frames to write and receives arbitrary chunks.
 */
export interface Connection {
  readonly tier: Tier;
  /** A printable description of the peer, e.g. `tcp://127.0.0.1:50012` or `unix:/run/x.sock`. */
  readonly remote: string;
  readonly local: string;
  readonly closed: boolean;
  /**
   * Bytes accepted by write() and not yet handed to the OS. Reading it while it is non-zero asks
   * for an `onDrain` call when they are gone (which costs a callback per write until then).
   */
  readonly pendingBytes: number;
  /** The same count, without asking for `onDrain` (for limits checked on every frame). */
  readonly bufferedBytes?: number;
  /** Queues bytes. Writes made in the same tick are coalesced into one system call. */
  write(bytes: Uint8Array): void;
  /** Flushes queued bytes, then closes the write side and the connection. */
  close(): void;
  /** Closes at once; queued bytes are dropped. */
  destroy(err?: Error): void;
  /** Receives every chunk of bytes that arrives. */
  onData: ((chunk: Uint8Array) => void) | null;
  /** Called once when the connection is gone, with the error if it failed. */
  onClose: ((err?: Error) => void) | null;
  /**
   * Called when the OS has taken all queued bytes, after a period of backpressure or after
   * `pendingBytes` was read while non-zero.
   */
  onDrain: (() => void) | null;
  /** The peer's uid, when the transport can tell (a Unix socket with the native addon loaded). */
  peerUid?(): number | undefined;
  /** What TLS negotiated, on connections made over TLS (tls:// addresses); absent otherwise. */
  readonly tls?: TlsDetails;
}

/** What a TLS connection negotiated (docs/tls.md). */
export interface TlsDetails {
  /** e.g. `TLSv1.3`. */
  protocol: string;
  /** e.g. `TLS_AES_256_GCM_SHA384`. */
  cipher: string;
  /** The SNI name the client asked for, if any. */
  servername?: string;
  /**
   * The peer's certificate was verified against the trusted CAs. On a client: the server's (true
   * unless `rejectUnauthorized: false`). On a server: the client's, so true only with `requestCert`.
   */
  authorized: boolean;
  /** The certificate the peer presented, if it presented one. */
  peerCertificate?: {
    /** Distinguished name, e.g. `CN=test-client`. */
    subject: string;
    issuer: string;
    /** e.g. `IP Address:127.0.0.1, DNS:localhost`. */
    subjectAltName?: string;
    /** SHA-256 fingerprint, colon-separated hex. */
    fingerprint256: string;
    validTo: string;
  };
}

/**
 * Client TLS settings: everything node's `tls.connect()` accepts except where to connect (`ca`,
 * `cert`/`key` or `pfx` for mutual TLS, `servername` for SNI and the hostname check,
 * `rejectUnauthorized` (default true), `minVersion`, `checkServerIdentity`...).
 */
export type TlsClientOptions = Omit<NodeTlsConnectionOptions, 'host' | 'port' | 'path' | 'socket' | 'timeout'>;

/**
 * Server TLS settings: everything node's `tls.createServer()` accepts (`cert`/`key` or `pfx`, `ca`,
 * `requestCert` for mutual TLS, `SNICallback`...), plus `sni`: a map of server name to the
 * certificate for that name (`*.example.com` matches one label). A name not in the map gets the
 * default `cert`/`key`. Entries without their own `ca`/`crl` inherit the top-level ones.
 */
export type TlsServerOptions = NodeTlsOptions & {
  sni?: Record<string, SecureContextOptions | SecureContext>;
};

export interface Listener {
  /** The bound address, with the real port when port 0 was asked for. */
  readonly address: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Permissions for a unix socket file (default 0o600). */
  socketMode?: number;
  /** Certificates and TLS settings, for tls:// listeners (required there). */
  tls?: TlsServerOptions;
  /**
   * A connection attempt failed before it became a Connection (a failed TLS handshake). The
   * listener keeps serving; this only reports it.
   */
  onError?: (err: FastpathError) => void;
}

export interface ConnectOptions {
  /** Give up connecting after this many ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** TLS settings, for tls:// addresses. */
  tls?: TlsClientOptions;
}

/**
 * A transport turns an address into connections. Core registers `tcp` and `unix`; the native
 * package registers more through `registerTransport` (the nats.js pattern: core never imports it).
 */
export interface TransportFactory {
  readonly scheme: string;
  connect(address: Address, options: ConnectOptions): Promise<Connection>;
  listen(address: Address, onConnection: (conn: Connection) => void, options: ListenOptions): Promise<Listener>;
}
