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
  /** Bytes accepted by write() and not yet handed to the OS. */
  readonly pendingBytes: number;
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
}

export interface Listener {
  /** The bound address, with the real port when port 0 was asked for. */
  readonly address: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Permissions for a unix socket file (default 0o600). */
  socketMode?: number;
}

export interface ConnectOptions {
  /** Give up connecting after this many ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
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
