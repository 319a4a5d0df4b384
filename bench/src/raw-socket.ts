import net from 'node:net';
import type { PeerInfo } from './peer-process.js';

/**
 * Connects a plain node:net socket to a raw peer, from the peer's address line: TCP (`host` and
 * `port`, Nagle off) or a Unix socket (`path`).
 */
export function connectRaw(info: PeerInfo): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      typeof info.path === 'string' ? net.connect({ path: info.path }) : net.connect({ host: info.host as string, port: info.port as number, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** The raw echo peer (peers/raw-echo.ts) reads a connection's message size from its first 4 bytes. */
export const RAW_SIZE_HEADER_BYTES = 4;

/** Connects to a raw echo peer and announces the message size: every message on it has `bytes` bytes. */
export async function connectRawEcho(info: PeerInfo, bytes: number): Promise<net.Socket> {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 0xffffffff) throw new RangeError(`message size must be a positive 32-bit integer, got ${bytes}`);
  const socket = await connectRaw(info);
  const header = Buffer.alloc(RAW_SIZE_HEADER_BYTES);
  header.writeUInt32LE(bytes, 0);
  socket.write(header);
  return socket;
}
