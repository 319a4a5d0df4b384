// The raw node:net echo peer (no framework): the baseline. It cuts the byte stream into
// fixed-size messages and writes each complete message back, with Nagle off.
// Usage: raw-echo.ts <host> <payload-bytes>    (host 127.0.0.1 or ::1; the port is picked by the OS)
import net from 'node:net';
import { FixedMessages } from '../fixed-messages.js';
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, ipv6Only: net.isIPv6(host) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as net.AddressInfo;
  return {
    info: { address: net.isIPv6(address) ? `tcp://[${address}]:${port}` : `tcp://${address}:${port}`, host: address, port },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
});
