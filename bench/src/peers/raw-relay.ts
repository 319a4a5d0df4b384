// The raw node:net pub-sub relay (no framework): the pub-sub baseline. Every connection starts
// with a two-byte hello (pubsub-protocol.ts). A subscriber says [S, index] and gets one READY
// byte back. A publisher says [P, k], then sends 64-byte messages; the relay cuts them out of the
// stream and writes each one to subscribers 0..k-1 with one write() per message and subscriber.
// Usage: raw-relay.ts <host> <payload-bytes>    (host 127.0.0.1, ::1, or unix)
import net from 'node:net';
import { FixedMessages } from '../fixed-messages.js';
import { HELLO_PUBLISHER, HELLO_SUBSCRIBER, RELAY_READY } from '../pubsub-protocol.js';
import { listenRaw } from './raw-listen.js';
import { runPeer } from './peer-main.js';

const host = process.argv[2] ?? '127.0.0.1';
const payloadBytes = Number(process.argv[3] ?? 64);

await runPeer(async () => {
  const sockets = new Set<net.Socket>();
  const subscribers: Array<net.Socket | undefined> = [];
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      const i = subscribers.indexOf(socket);
      if (i >= 0) subscribers[i] = undefined;
    });
    let hello = Buffer.alloc(0);
    let onData = (chunk: Buffer): void => {
      hello = Buffer.concat([hello, chunk]);
      if (hello.length < 2) return;
      const [role, n] = [hello[0]!, hello[1]!];
      const rest = hello.subarray(2);
      if (role === HELLO_SUBSCRIBER) {
        subscribers[n] = socket;
        onData = () => {};
        socket.write(Buffer.from([RELAY_READY]));
        return;
      }
      if (role !== HELLO_PUBLISHER) return void socket.destroy();
      const targets = subscribers.slice(0, n).filter((s): s is net.Socket => s !== undefined);
      if (targets.length !== n) return void socket.destroy(); // asked for more subscribers than are connected
      const messages = new FixedMessages(payloadBytes, (msg) => {
        for (const t of targets) t.write(msg);
      });
      onData = (c) => messages.push(c);
      if (rest.length > 0) messages.push(rest);
    };
    socket.on('data', (chunk: Buffer) => onData(chunk));
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
