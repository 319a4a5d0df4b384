// `fastpath call` (packages/codegen/src/cli/call.ts) against the examples/hello server, both run
// as processes the way a user runs them from the repository. The CLI runs from its sources
// (node -C fastpath-src --import tsx .../main.ts), like test/doctor.test.ts: the bin launcher
// prefers a build in packages/codegen/dist when one exists, which this test must not depend on.
import { spawn } from 'node:child_process';
import { Server } from '@fastpath/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnTs, TS_NODE_ARGS, type Spawned } from './helpers/spawn.js';

const MAIN = 'packages/codegen/src/cli/main.ts';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fastpath <args>`; `stdin` is written to its standard input (then closed). */
function fastpath(args: string[], stdin = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TS_NODE_ARGS, MAIN, ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

const errorOf = (r: Result): { code: string; message: string; details?: Record<string, unknown> } => JSON.parse(r.stderr) as never;

describe('fastpath call', () => {
  let hello: Spawned;
  let address: string;
  let pid: number;
  beforeAll(async () => {
    hello = spawnTs('examples/hello/server.ts', ['tcp://127.0.0.1:0']);
    ({ address, pid } = (await hello.ready) as { address: string; pid: number });
  });
  afterAll(async () => {
    hello.kill('SIGTERM');
    await hello.exited;
  });

  it('calls the hello server: JSON request in, JSON result out; errors as JSON on stderr with exit codes 1 and 2', async () => {
    const [ok, compact, fromStdin, unknown, badJson, invalid, handlerError, badMethod, noServer] = await Promise.all([
      fastpath(['call', address, 'Greeter.hello', '{"name":"Ada"}']),
      fastpath(['call', address, 'Greeter.add', '{"a":2,"b":40}', '--compact', '--deadline', '5000', '--metadata', 'trace=abc']),
      fastpath(['call', address, 'Greeter.add', '-', '--compact'], '{"a":1,"b":1}'),
      fastpath(['call', address, 'Greeter.nope', '{}']),
      fastpath(['call', address, 'Greeter.hello', '{"name": Ada}']),
      fastpath(['call', address, 'Greeter.hello', '{"name":5}']),
      fastpath(['call', address, 'Greeter.hello', '{"name":""}']),
      fastpath(['call', address, 'hello', '{}']),
      // Port 1 on loopback: nothing listens there.
      fastpath(['call', 'tcp://127.0.0.1:1', 'Greeter.hello', '{"name":"Ada"}']),
    ]);

    expect(ok).toEqual({ code: 0, stdout: `{\n  "greeting": "Hello, Ada!",\n  "servedBy": ${pid}\n}\n`, stderr: '' });
    expect(compact).toEqual({ code: 0, stdout: '{"sum":42}\n', stderr: '' });
    expect(fromStdin).toEqual({ code: 0, stdout: '{"sum":2}\n', stderr: '' });

    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(errorOf(unknown)).toEqual({ code: 'UNIMPLEMENTED', message: 'unknown method "Greeter.nope"', details: { method: 'Greeter.nope' } });

    // A payload that is not JSON never reaches the server: exit 2, the error as JSON.
    expect(badJson.code).toBe(2);
    expect(badJson.stdout).toBe('');
    expect(errorOf(badJson)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^the payload is not valid JSON: /), details: { reason: 'bad-json' } });

    // The server's generated validator refuses the request, with the path of the issue.
    expect(invalid.code).toBe(1);
    expect(errorOf(invalid)).toMatchObject({ code: 'INVALID_ARGUMENT', details: { issues: [{ path: 'name', message: 'expected string, got number' }] } });
    expect(handlerError.code).toBe(1);
    expect(errorOf(handlerError)).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'name is required' });

    expect(badMethod.code).toBe(2);
    expect(badMethod.stderr).toContain('fastpath call: the method must look like Service.method, got "hello"');
    expect(badMethod.stderr).toContain('Usage: fastpath call');

    expect(noServer.code).toBe(1);
    expect(errorOf(noServer)).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'connect-failed' } });
  });

  it('maps bytes, bigint and dates both ways over a real connection', async () => {
    // An in-process server that answers with what it received, and the types it saw.
    const server = new Server({ listen: 'tcp://127.0.0.1:0' });
    server.handle('Echo.types', (req: Record<string, unknown>, ctx) => ({
      echo: req,
      types: Object.fromEntries(Object.entries(req).map(([k, v]) => [k, Buffer.isBuffer(v) ? 'Buffer' : v instanceof Date ? 'Date' : typeof v])),
      trace: ctx.metadata.trace ?? null,
    }));
    await server.start();
    try {
      const r = await fastpath([
        'call',
        server.address,
        'Echo.types',
        '{"blob":{"$bytes":"AAEC/w=="},"big":{"$bigint":"9223372036854775807"},"at":{"$date":"2026-01-02T03:04:05.000Z"},"n":1.5}',
        '--compact',
        '--metadata',
        'trace=t-1',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        echo: { blob: { $bytes: 'AAEC/w==' }, big: { $bigint: '9223372036854775807' }, at: { $date: '2026-01-02T03:04:05.000Z' }, n: 1.5 },
        types: { blob: 'Buffer', big: 'bigint', at: 'Date', n: 'number' },
        trace: 't-1',
      });
    } finally {
      await server.close();
    }
  });
});

describe('fastpath bench', () => {
  it('runs the benchmark of this checkout with the options passed through (here: its usage and its refusal of a bad option)', async () => {
    const [help, bad] = await Promise.all([fastpath(['bench', '--help']), fastpath(['bench', '--sections', 'nope'])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run bench -- [options]');
    expect(help.stdout).toContain('--svg [file]');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bench: unknown section nope');
  });
});
