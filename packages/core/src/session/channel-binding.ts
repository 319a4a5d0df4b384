import type { Connection } from '../transport/types.js';

/** A TLS socket as node:tls has it: only what the channel binding needs. */
interface ExporterSocket {
  encrypted?: boolean;
  exportKeyingMaterial?: (length: number, label: string, context?: Buffer) => Buffer;
}

/**
 * The connection's channel binding (RFC 9266 `tls-exporter`: 32 bytes exported with the label
 * `EXPORTER-Channel-Binding` and no context), or undefined when the connection is not TLS.
 * Both ends compute the same value for one TLS session and different values for any other, so
 * an HMAC proof that signs it cannot be relayed into another TLS connection.
 *
 * A transport offers it either with a `channelBinding()` method on its Connection, or by being a
 * NetConnection whose `socket` is a node:tls TLSSocket.
 */
export function channelBinding(conn: Connection): Uint8Array | undefined {
  const c = conn as Connection & { channelBinding?: () => Uint8Array | undefined; socket?: ExporterSocket };
  if (typeof c.channelBinding === 'function') return c.channelBinding();
  const s = c.socket;
  if (s && s.encrypted === true && typeof s.exportKeyingMaterial === 'function') {
    try {
      return s.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding');
    } catch {
      return undefined; // the handshake has not finished, or the socket is gone
    }
  }
  return undefined;
}
