// `npm start` (examples/demo): the demo runs as three processes (client, server, watcher) and
// must show every part of what fastpath does. The test runs the exact command of the "start"
// script, with fewer round trips (--round-trips 300 instead of 5 000) to keep the suite fast, and
// checks the output's structure: never its timings.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nativeStatus } from '@fastpath/native';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/spawn.js';

const run = promisify(execFile);

describe('npm start (the demo)', () => {
  it('runs server, client and watcher processes, shows calls, a stream, a fan-out, every tier and why, and a latency table; exits 0', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const command = pkg.scripts.start!;
    expect(command).toBe('node -C fastpath-src --import tsx examples/demo/main.ts');
    const args = command.split(' ').slice(1);
    const env = { ...process.env };
    delete env.FASTPATH_NATIVE;
    const { stdout } = await run(process.execPath, [...args, '--round-trips', '300', '--ticks', '500'], { cwd: repoRoot, env, timeout: 30_000 });
    const best = nativeStatus.loaded ? 'shm' : 'uds';

    // Three processes, with their pids.
    expect(stdout).toMatch(/^ {2}server {3}pid \d+ +listens on tcp:\/\/127\.0\.0\.1:\d+/m);
    expect(stdout).toMatch(/^ {2}watcher {2}pid \d+ +3 subscriber connections/m);

    // 1. Every connection, the tier it negotiated, and why.
    expect(stdout).toMatch(new RegExp(`^ +\\d+ +client/main +${best} +\\S`, 'm'));
    expect(stdout).toMatch(/^ +\d+ +client\/tcp-only +tcp +peer opted out \(client fastPath is off\)$/m);
    for (const i of [1, 2, 3]) expect(stdout).toMatch(new RegExp(`^ +\\d+ +watcher/sub-${i} +${best} +\\S`, 'm'));

    // 2. Typed calls, a NOT_FOUND from the handler, and a request the generated validator refuses.
    expect(stdout).toMatch(/^ {2}quote\(\{ symbol: 'ACME' \}\) +-> \{ symbol: 'ACME', priceCents: \d+, seq: 1n \}$/m);
    expect(stdout).toMatch(/-> \{ orderId: 1n, filledCents: \d+ \}$/m);
    expect(stdout).toContain('-> NOT_FOUND: no such symbol: NOPE');
    expect(stdout).toContain('-> INVALID_ARGUMENT: invalid request for Market.order: side: expected "buy" | "sell", got "hold"');

    // 3. The server stream, 4. the fan-out: every tick at every subscriber, in order.
    expect(stdout).toMatch(/^ {2}(\d+\.\d\d {2}){4}\d+\.\d\d {3}\(5 messages\)$/m);
    expect(stdout).toMatch(/every subscriber received 500 \/ 500 \/ 500 of 500 ticks, in publish order/);

    // 5. The latency table: header and the three rows, with numbers (whatever they are).
    expect(stdout).toMatch(/^ {2}path +tier +p50 µs +p99 µs +mean µs +calls\/s +p50 vs raw TCP$/m);
    const num = '[\\d,]+\\.\\d';
    expect(stdout).toMatch(new RegExp(`^ {2}raw node:net TCP \\(no framework\\) +- +${num} +${num} +${num} +[\\d,]+ +1\\.00x$`, 'm'));
    expect(stdout).toMatch(new RegExp(`^ {2}fastpath, fastPath: 'off' +tcp +${num} +${num} +${num} +[\\d,]+ +([\\d.]+x (faster|slower)|1\\.00x)$`, 'm'));
    expect(stdout).toMatch(new RegExp(`^ {2}fastpath, default \\(best tier here\\) +${best} +${num} +${num} +${num} +[\\d,]+ +([\\d.]+x (faster|slower)|1\\.00x)$`, 'm'));

    expect(stdout).toMatch(/^done in [\d.]+ s; the server and watcher processes exited cleanly$/m);
  });
});
