/**
 * Adaptive mode on a machine with no core to spare: it sleeps on the doorbell instead of polling.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HAS_ADDON } from './__fixtures__/shm-harness.js';
import { attachShm, createShmOffer } from './index.js';

describe.skipIf(!HAS_ADDON)('adaptive mode and spare cores', () => {
  it('stops polling after traffic while more tasks are runnable than there are cores', async () => {
    // One more CPU-bound process than cores: no core is spare, whatever else runs.
    const hogs = Array.from({ length: availableParallelism() + 1 }, () =>
      spawn(process.execPath, ['-e', 'const end = Date.now() + 10000; while (Date.now() < end) {}'], { stdio: 'ignore' }),
    );
    // A one-second polling window: without contention the channel would poll all that time.
    const offer = createShmOffer({ mode: 'adaptive', spinMicros: 1_000_000 });
    const client = attachShm(offer.token, { mode: 'adaptive', spinMicros: 1_000_000 });
    const server = await offer.attached;
    try {
      let got = 0;
      server.onData = (chunk) => {
        got += chunk.length;
      };
      client.onData = () => {};
      await new Promise((r) => setTimeout(r, 100)); // the hogs are running
      let info = server.info();
      for (let i = 0; i < 150 && !(info.contended && !info.polling && got > 0); i++) {
        client.write(Buffer.alloc(64, i)); // traffic opens the window again
        await new Promise((r) => setTimeout(r, 20));
        info = server.info();
      }
      expect(got).toBeGreaterThan(0);
      expect(info.contended).toBe(true);
      expect(info.polling).toBe(false); // asleep on the doorbell, inside its polling window
    } finally {
      for (const h of hogs) h.kill('SIGKILL');
      client.destroy();
      server.destroy();
    }
  }, 20_000);
});
