// The raw node:net echo peer (no framework): the baseline. It cuts the byte stream into
// fixed-size messages and writes each complete message back, with Nagle off.
// Usage: raw-echo.ts <host> <payload-bytes>
//   host 127.0.0.1 or ::1 (TCP; the port is picked by the OS), or `unix` (a Unix socket in a fresh
//   0700 directory under the tmpdir, removed when the peer exits).
import net from 'node:net';
import { FixedMessages } from '../fixed-messages.js';
import { listenRaw } from './raw-listen.js';
import { runPeer } from './peer-main.js';

const host = process.argv[2] ?? '127.0.0.1';
const payloadBytes = Number(process.argv[3] ?? 64);

await runPeer(async () => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const messages = new FixedMessages(payloadBytes, (msg) => socket.write(msg));
    socket.on('data', (chunk: Buffer) => messages.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  const listening = await listenRaw(server, host);
  return {
    info: listening.info,
    close: async () => {
      for (const s of sockets) s.destroy();
      await listening.close();
    },
  };
});
