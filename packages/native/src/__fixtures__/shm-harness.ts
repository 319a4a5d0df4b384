/**
 * What the shm tests (src/shm-*.test.ts) share: a child process attached to a token (Peer, running
 * shm-peer.ts), the connections and peers a test made (destroyed by destroyTracked after each
 * test), and bounded waits. Every wait is bounded in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { createShmOffer, nativeStatus, type ShmConnection, type ShmMode, type ShmOptions } from '../index.js';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const peerScript = fileURLToPath(new URL('./shm-peer.ts', import.meta.url));
export const MODES: ShmMode[] = ['inline', 'worker', 'adaptive'];

export type PeerMsg = { ev: string; [k: string]: unknown };

/** A child process attached to a token, with a bounded wait for its IPC messages. */
export class Peer {
  readonly child: ChildProcess;
  private readonly inbox: PeerMsg[] = [];
  private waiter: (() => void) | null = null;
  readonly exited: Promise<number | null>;

  constructor(token: unknown, mode: ShmMode, extra?: ShmOptions) {
    const args = [peerScript, JSON.stringify(token), mode, ...(extra ? ['', JSON.stringify(extra)] : [])];
    this.child = spawn(process.execPath, ['-C', 'fastpath-src', '--import', 'tsx', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m) => {
      this.inbox.push(m as PeerMsg);
      this.waiter?.();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async next(ev: string, timeoutMs = 10_000): Promise<PeerMsg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.ev === ev);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`peer: no "${ev}" within ${timeoutMs} ms (got ${JSON.stringify(this.inbox)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  send(m: unknown): void {
    this.child.send(m as object);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export const peers: Peer[] = [];
export const conns: ShmConnection[] = [];
/** For afterEach: destroys the connections and kills the peers the test pushed. */
export function destroyTracked(): void {
  for (const c of conns.splice(0)) c.destroy();
  for (const p of peers.splice(0)) p.kill();
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export function leftovers(token: { shm: string; dir: string }): string[] {
  const found: string[] = [];
  if (existsSync(`/dev/shm${token.shm}`)) found.push(`/dev/shm${token.shm}`);
  if (existsSync(token.dir)) found.push(token.dir);
  return found;
}

/** Offers a channel in `mode`, starts a peer on it and waits until both ends are attached. */
export async function connectPeer(mode: ShmMode, opts: { ringBytes?: number; slotBytes?: number } = {}): Promise<{ conn: ShmConnection; peer: Peer; token: { shm: string; dir: string } }> {
  const offer = createShmOffer({ mode, attachTimeoutMs: 15_000, ...opts });
  expect(leftovers(offer.token)).toHaveLength(2); // exists until attached
  const peer = new Peer(offer.token, mode);
  peers.push(peer);
  const conn = await withTimeout(offer.attached, 15_000, 'attach');
  conns.push(conn);
  await peer.next('attached', 15_000);
  return { conn, peer, token: offer.token };
}

/** Sends `bytes`, resolves with everything echoed back once `bytes.length` bytes came back. */
export function echo(conn: ShmConnection, bytes: Uint8Array, timeoutMs = 10_000): Promise<Buffer> {
  const got: Buffer[] = [];
  let n = 0;
  return withTimeout(
    new Promise<Buffer>((resolve) => {
      conn.onData = (chunk) => {
        got.push(Buffer.from(chunk));
        n += chunk.length;
        if (n >= bytes.length) resolve(Buffer.concat(got));
      };
      conn.write(bytes);
    }),
    timeoutMs,
    `echo of ${bytes.length} bytes`,
  );
}

export function closedPromise(conn: ShmConnection): Promise<Error | undefined> {
  return new Promise((resolve) => {
    conn.onClose = (err) => resolve(err);
  });
}

export const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// Without a compiler at install (or FASTPATH_NATIVE=0) there is no addon: the suites that need it
// are skipped with the reason printed, and the loader must say why it did not load.
export const HAS_ADDON = nativeStatus.loaded;
if (!HAS_ADDON) console.log(`native tests that need the addon are skipped: ${nativeStatus.reason}`);
