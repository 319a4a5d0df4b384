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
