import { afterAll, describe, expect, it } from 'vitest';
import { cleanupSocketDirs, socketPath } from '../../test/helpers/matrix.js';
import { spawnTs, type Spawned } from '../../test/helpers/spawn.js';
import { until } from '../../test/helpers/util.js';

afterAll(cleanupSocketDirs);

/** The seq numbers in a process's output lines, in order. */
function seqs(lines: string[], re: RegExp): number[] {
  return lines.flatMap((l) => {
    const m = re.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

describe('examples/pubsub', () => {
  const procs: Spawned[] = [];
  afterAll(() => procs.forEach((p) => p.kill('SIGKILL')));

  function start(script: string, args: string[]): Spawned {
    const p = spawnTs(`examples/pubsub/${script}`, args);
    p.ready.catch(() => {}); // only the server prints a JSON ready line; the others are awaited by their output
    procs.push(p);
    return p;
  }

  it.each([
    ['tcp', (): string => 'tcp://127.0.0.1:0'],
    ['unix', (): string => `unix:${socketPath('pubsub.sock')}`],
  ] as const)('a ticker, a watcher and a queue group of two workers run as processes over %s', async (_name, listen) => {
    const server = start('server.ts', [listen(), '5']);
    const { address } = (await server.ready) as { address: string };
    const watch = start('watch.ts', [address, 'ticks.*']);
    const workers = [start('worker.ts', [address, 'workers']), start('worker.ts', [address, 'workers'])];
    const subscribed = (p: Spawned): boolean => p.stdout.some((l) => / \(path (uds|shm)\)$/.test(l));
    await until(() => [watch, ...workers].every(subscribed), 20_000, 'every subscriber subscribed');
    expect(watch.stdout[0]).toBe('[watch] publishing to ticks.FAKE -> PERMISSION_DENIED');

    const watched = (): number[] => seqs(watch.stdout, /^\[watch\] ticks\.\w+ #(\d+) \d+\.\d\d$/);
    const handled = (w: Spawned): number[] => seqs(w.stdout, /^\[worker \d+\] ticks\.\w+ #(\d+) handled$/);
    // Let both workers handle a good number of ticks, and the watcher print them (on a loaded
    // machine it can lag behind the workers; ticks it holds unprinted at SIGTERM are not shown).
    await until(() => workers.every((w) => handled(w).length >= 20) && watched().length > 20, 20_000, 'workers handle ticks and the watcher prints them');
    for (const p of [...workers, watch]) p.kill('SIGTERM');
    expect(await Promise.all([...workers, watch].map((p) => p.exited))).toEqual([0, 0, 0]);

    // The watcher saw every tick from its first one on, in order.
    const w = watched();
    expect(w.length).toBeGreaterThan(20);
    expect(w).toEqual(Array.from({ length: w.length }, (_, i) => w[0]! + i));

    // Each tick went to exactly one worker; while both were in the group, every tick was handled.
    const [a, b] = workers.map(handled) as [number[], number[]];
    for (const h of [a, b]) expect(h).toEqual([...h].sort((x, y) => x - y));
    expect(a.filter((x) => b.includes(x))).toEqual([]);
    const from = Math.max(a[0]!, b[0]!);
    const to = Math.min(a.at(-1)!, b.at(-1)!);
    expect(to - from).toBeGreaterThan(20);
    const both = [...a, ...b].filter((x) => x >= from && x <= to).sort((x, y) => x - y);
    expect(both).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
    for (const wk of workers) expect(wk.stdout.at(-1)).toMatch(/^\[worker \d+\] handled \d+ ticks$/);

    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
