// The raw node:net echo peer (no framework): the baseline. Each connection starts with its
// message size (a u32, little-endian); the peer then cuts the byte stream into messages of that
// size and writes each complete message back, with Nagle off.
// Usage: raw-echo.ts <host>
//   host 127.0.0.1 or ::1 (TCP; the port is picked by the OS), or `unix` (a Unix socket in a fresh
//   0700 directory under the tmpdir, removed when the peer exits).
import net from 'node:net';
import { FixedMessages } from '../fixed-messages.js';
import { RAW_SIZE_HEADER_BYTES } from '../raw-socket.js';
import { listenRaw } from './raw-listen.js';
import { runPeer } from './peer-main.js';

const host = process.argv[2] ?? '127.0.0.1';

await runPeer(async () => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let header = Buffer.alloc(0);
    let messages: FixedMessages | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (messages) return messages.push(chunk);
      header = Buffer.concat([header, chunk]);
      if (header.length < RAW_SIZE_HEADER_BYTES) return;
      const size = header.readUInt32LE(0);
      if (size === 0) return void socket.destroy();
      messages = new FixedMessages(size, (msg) => socket.write(msg));
      if (header.length > RAW_SIZE_HEADER_BYTES) messages.push(header.subarray(RAW_SIZE_HEADER_BYTES));
    });
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
