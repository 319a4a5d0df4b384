/**
 * A peer process for the shm tests: attaches to the token given in argv and echoes every byte it
 * receives. The parent controls it over the IPC channel:
 *   { cmd: 'cpu', ms }                      -> { ev: 'cpu', us, wallMs, info }   CPU used while idle
 *   { cmd: 'close' }                        -> the peer closes its end gracefully
 *   { cmd: 'poke', offset, value, width }   -> { ev: 'poked', ok }   plays a hostile peer
 * and hears { ev: 'attached' } once it has attached, { ev: 'closed', err? } when its end closes.
 *
 * Run as: node -C fastpath-src --import tsx shm-peer.ts '<token json>' <mode> [spinMicros] [options json]
 * where the options json is merged into attachShm's options (e.g. {"spin":{...}}).
 */
import { attachShm, type ShmMode, type ShmOptions } from '../index.js';

const send = (m: unknown): void => {
  process.send?.(m);
};

const token: unknown = JSON.parse(process.argv[2] ?? 'null');
const mode = (process.argv[3] ?? 'adaptive') as ShmMode;
const spinMicros = process.argv[4] ? Number(process.argv[4]) : undefined;
const extra = (process.argv[5] ? JSON.parse(process.argv[5]) : {}) as ShmOptions;

let conn;
try {
  conn = attachShm(token, { mode, ...(spinMicros !== undefined ? { spinMicros } : {}), ...extra });
} catch (err) {
  send({ ev: 'error', code: (err as { code?: string }).code, message: (err as Error).message });
  process.exit(3);
}
const c = conn;
c.onData = (chunk) => c.write(chunk);
c.onClose = (err) => {
  send({ ev: 'closed', err: err?.message });
  // Give the IPC message time to leave, then go.
  setTimeout(() => process.exit(0), 100).unref();
  process.disconnect?.();
};

process.on('message', (m: { cmd: string; ms?: number; offset?: number; value?: string; width?: 4 | 8 }) => {
  switch (m.cmd) {
    case 'cpu': {
      const start = process.cpuUsage();
      const t0 = performance.now();
      setTimeout(() => {
        const d = process.cpuUsage(start);
        send({ ev: 'cpu', us: d.user + d.system, wallMs: performance.now() - t0, info: c.closed ? null : c.info() });
      }, m.ms ?? 2000);
      break;
    }
    case 'close':
      c.close();
      break;
    case 'poke':
      send({ ev: 'poked', ok: c.pokeForTest(m.offset ?? 0, BigInt(m.value ?? '0'), m.width ?? 8) });
      break;
    case 'exit':
      process.exit(0);
  }
});

send({ ev: 'attached', mode: c.mode });
