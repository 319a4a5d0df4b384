/**
 * Runs in a worker thread (started through spin-worker-boot.mjs): offers a channel with the spin
 * option and no allowMainThread, which a worker thread may use. The parent hands the token to an
 * echo process; once it has attached, this side runs `n` ping-pongs of 64 bytes, each next ping
 * written from inside onData, and checks every echo.
 *   workerData: { mode, budgetMicros, n }
 *   posts { ev: 'token', token }, then { ev: 'done', n, bad, syncInWrite, info } or { ev: 'error', code, message }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createShmOffer, type ShmMode } from '../index.js';

const { mode, budgetMicros, n } = workerData as { mode: ShmMode; budgetMicros: number; n: number };
const post = (m: unknown): void => parentPort!.postMessage(m);

try {
  const offer = createShmOffer({ mode, spin: { budgetMicros }, attachTimeoutMs: 15_000 });
  post({ ev: 'token', token: offer.token });
  const conn = await offer.attached;
  const ping = Buffer.alloc(64);
  let i = 0;
  let bad = 0;
  let got: Buffer[] = [];
  let gotBytes = 0;
  let inWrite = false;
  let syncInWrite = 0;
  const send = (): void => {
    ping.fill(i & 0xff);
    ping.writeUInt32LE(i, 0);
    inWrite = true;
    conn.write(ping);
    inWrite = false;
  };
  await new Promise<void>((resolve) => {
    conn.onData = (chunk) => {
      if (inWrite) syncInWrite++;
      got.push(Buffer.from(chunk));
      gotBytes += chunk.length;
      if (gotBytes < 64) return;
      const back = Buffer.concat(got);
      got = [];
      gotBytes = 0;
      if (back.length !== 64 || back.readUInt32LE(0) !== i || back[63] !== (i & 0xff)) bad++;
      if (++i === n) return resolve();
      send();
    };
    send();
  });
  post({ ev: 'done', n: i, bad, syncInWrite, info: conn.info() });
  conn.close();
} catch (err) {
  post({ ev: 'error', code: (err as { code?: string }).code, message: (err as Error).message });
}
