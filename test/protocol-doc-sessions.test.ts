// Keeps docs/protocol.md honest: a live server and client session (and the attach router) must
// send exactly the bytes of the page's ```hex examples. That the examples are what the encoder
// produces is checked by test/protocol-doc-examples.test.ts.
import { DEFAULT_MAX_FRAME_BYTES, FastpathError, FrameType, HEADER_BYTES, Server, type Connection } from '@fastpath/core';
import { describe, expect, it } from 'vitest';
import { encodeHello } from '../packages/core/src/protocol/handshake.js';
import { encodeRequest } from '../packages/core/src/protocol/messages.js';
import { ClientSession } from '../packages/core/src/session/client-session.js';
import { AttachRouter } from '../packages/core/src/session/upgrade.js';
import { docBytes, hex } from './helpers/protocol-doc.js';
import { FP_HOST, MiB16, NONCE } from './helpers/protocol-examples.js';

/** An in-memory Connection that records every frame written to it. */
class MemoryConnection implements Connection {
  readonly tier = 'tcp' as const;
  readonly remote = 'tcp://192.0.2.1:40000';
  readonly local = 'tcp://192.0.2.2:7000';
  readonly pendingBytes = 0;
  closed = false;
  onData: ((chunk: Uint8Array) => void) | null = null;
  onClose: ((err?: Error) => void) | null = null;
  onDrain: (() => void) | null = null;
  readonly written: Buffer[] = [];

  write(bytes: Uint8Array): void {
    if (!this.closed) this.written.push(Buffer.from(bytes));
  }

  close(): void {
    this.finish();
  }

  destroy(): void {
    this.finish();
  }

  feed(bytes: Uint8Array): void {
    this.onData?.(bytes);
  }

  /** Everything written since the last call. */
  take(): string[] {
    return this.written.splice(0).map(hex);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    const cb = this.onClose;
    this.onClose = null;
    this.onData = null;
    cb?.();
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('live sessions send the documented bytes', () => {
  it('server: WELCOME, RESPONSE, ERROR UNIMPLEMENTED, empty RESPONSE, PONG, GOAWAY drain', async () => {
    const server = new Server({});
    server.handle('Calc.add', ({ a, b }: { a: number; b: number }) => ({ sum: a + b }));
    server.handle('Calc.nothing', () => undefined);
    await server.start();
    const conn = new MemoryConnection();
    server.accept(conn);

    conn.feed(docBytes('hello'));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('welcome'))]);

    conn.feed(docBytes('request-calc-add'));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('response-calc-add'))]);

    conn.feed(docBytes('request-unknown-method'));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('error-unimplemented'))]);

    conn.feed(encodeRequest(4, 'Calc.nothing', undefined, undefined, null));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('response-empty'))]);

    conn.feed(docBytes('ping'));
    await tick();
    expect(conn.take()).toEqual([hex(docBytes('pong'))]);

    await server.close({ graceMs: 100 });
    expect(conn.take()).toEqual([hex(docBytes('goaway-drain'))]);
    expect(conn.closed).toBe(true);
  });

  it('server: GOAWAY on a version mismatch and on a frame over maxFrameBytes, then close', async () => {
    const server = new Server({});
    const errors: string[] = [];
    server.on('error', (err) => errors.push(`${err.code} ${String(err.details?.reason)}`));
    await server.start();

    const refused = new MemoryConnection();
    server.accept(refused);
    refused.feed(encodeHello({ versions: [2], agent: 'other/1.0', caps: [], maxFrameBytes: MiB16 }));
    await tick();
    expect(refused.take()).toEqual([hex(docBytes('goaway-version-mismatch'))]);
    expect(refused.closed).toBe(true);

    const oversized = new MemoryConnection();
    server.accept(oversized);
    oversized.feed(docBytes('hello'));
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(DEFAULT_MAX_FRAME_BYTES + 1, 0);
    header[4] = FrameType.REQUEST;
    header.writeUInt32LE(1, 8);
    oversized.feed(header);
    await tick();
    expect(oversized.take()).toEqual([hex(docBytes('welcome')), hex(docBytes('goaway-protocol-error'))]);
    expect(oversized.closed).toBe(true);

    expect(errors).toEqual(['FAILED_PRECONDITION version-mismatch', 'RESOURCE_EXHAUSTED frame-too-large']);
    await server.close({ graceMs: 100 });
  });

  it('client: HELLO, REQUEST, CANCEL, PONG', async () => {
    const conn = new MemoryConnection();
    const session = new ClientSession(conn, {
      maxFrameBytes: MiB16,
      keepalive: { intervalMs: 10000, timeoutMs: 20000 },
      handshakeTimeoutMs: 10000,
      fastPath: { mode: 'off', host: FP_HOST, uid: 1000, tiers: [], unavailable: {}, tierOptions: {}, upgradeTimeoutMs: 5000 },
    });
    expect(conn.take()).toEqual([hex(docBytes('hello'))]);

    conn.feed(docBytes('welcome'));
    await session.ready;

    const add = session.call('Calc.add', { a: 1, b: 2 }, undefined, undefined, undefined);
    expect(conn.take()).toEqual([hex(docBytes('request-calc-add'))]);
    conn.feed(docBytes('response-calc-add'));
    await expect(add).resolves.toEqual({ sum: 3 });

    const ac = new AbortController();
    const cancelled = session.call('Calc.add', { a: 1, b: 2 }, undefined, { tenant: 'acme' }, ac.signal);
    expect(conn.take()).toEqual([hex(encodeRequest(2, 'Calc.add', undefined, { tenant: 'acme' }, { a: 1, b: 2 }))]);
    ac.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(conn.take()).toEqual([hex(docBytes('cancel'))]);

    // A late answer to the cancelled call is ignored, not a protocol error.
    conn.feed(docBytes('error-deadline'));
    conn.feed(docBytes('ping'));
    expect(conn.take()).toEqual([hex(docBytes('pong'))]);
    expect(session.state).toBe('open');

    session.close(new FastpathError('CANCELLED', 'test done'));
  });

  it('attach router: refuses an unknown nonce with the documented GOAWAY, accepts an expected one', () => {
    const refused: FastpathError[] = [];
    const router = new AttachRouter((err) => refused.push(err));

    const stranger = new MemoryConnection();
    router.route(stranger);
    stranger.feed(docBytes('upgrade-ack-attach'));
    expect(stranger.take()).toEqual([hex(docBytes('goaway-attach-refused'))]);
    expect(stranger.closed).toBe(true);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: 'PERMISSION_DENIED', details: { reason: 'attach-refused' } });

    const attached: Connection[] = [];
    router.expect(NONCE, 10_000, (conn) => attached.push(conn), () => {});
    const channel = new MemoryConnection();
    router.route(channel);
    channel.feed(docBytes('upgrade-ack-attach'));
    expect(attached).toEqual([channel]);
    expect(channel.take()).toEqual([]);
    expect(router.pending).toBe(0);
  });
});
