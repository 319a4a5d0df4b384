// The latency table's baseline: plain node:net, no framework. The server writes back every
// RAW_MESSAGE_BYTES bytes it receives; the client end sends one message and waits for all of it.
import net from 'node:net';

export const RAW_MESSAGE_BYTES = 64;

/** A raw TCP connection to the demo server's echo port: `roundTrip(payload)` resolves with the echo. */
export async function connectRawEcho(url: string): Promise<{ roundTrip(payload: Buffer): Promise<Buffer>; close(): void }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port), noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let waiting: ((echo: Buffer) => void) | undefined;
  let got: Buffer[] = [];
  let gotBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    got.push(chunk);
    gotBytes += chunk.length;
    if (gotBytes < RAW_MESSAGE_BYTES) return;
    const echo = got.length === 1 ? got[0]! : Buffer.concat(got);
    got = [];
    gotBytes = 0;
    const w = waiting;
    waiting = undefined;
    w?.(echo);
  });
  return {
    roundTrip(payload) {
      if (payload.length !== RAW_MESSAGE_BYTES) throw new RangeError(`raw echo messages are ${RAW_MESSAGE_BYTES} bytes`);
      return new Promise((resolve) => {
        waiting = resolve;
        socket.write(payload);
      });
    },
    close: () => socket.destroy(),
  };
}
