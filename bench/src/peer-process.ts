import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: children run from here so `--import tsx` and workspaces resolve. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Node flags that run TypeScript directly, resolving @fastpath/* to their src/ (no build step). */
export const TS_NODE_ARGS = ['-C', 'fastpath-src', '--import', 'tsx'] as const;

/** What an echo peer reports on its first stdout line. */
export interface PeerInfo {
  /** The bound address as a URL, e.g. `tcp://127.0.0.1:40123` or `tcp://[::1]:40123`. */
  address: string;
  pid: number;
  [extra: string]: unknown;
}

/** How a peer ended: on its own after stdin closed (the normal way), or killed by the parent. */
export type PeerEnd = 'stdin-closed' | 'SIGTERM' | 'SIGKILL';

/** A JSON line a peer printed after its address line (e.g. a subscriber's progress report). */
export type PeerLine = Record<string, unknown>;

export interface Peer {
  readonly info: PeerInfo;
  /**
   * Receives every JSON line the peer prints after its address line. Lines printed before a
   * listener is set are kept and handed to it first; `null` stops listening.
   */
  onLine(listener: ((line: PeerLine) => void) | null): void;
  /** Closes the peer's stdin (its signal to exit) and waits for it; escalates to signals. */
  stop(): Promise<PeerEnd>;
}

export interface StartPeerOptions {
  /** How long the child may take to report its address (tsx start-up on a busy machine is slow). */
  readyTimeoutMs?: number;
}

const STDERR_LINES_KEPT = 20;

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

function waitOrTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Starts an echo peer: a TypeScript script under bench/src/peers run in its own Node process
 * (single-threaded, like the sender). Resolves once the peer has printed its address.
 */
export function startPeer(script: URL, args: readonly string[], options: StartPeerOptions = {}): Promise<Peer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const child = spawn(process.execPath, [...TS_NODE_ARGS, fileURLToPath(script), ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Writing to (or ending) the stdin of a child that already died must not crash the bench.
  child.stdin?.on('error', () => {});
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > STDERR_LINES_KEPT) stderr.shift();
  });
  const exited = exitOf(child);

  let stopping: Promise<PeerEnd> | undefined;
  const stop = (): Promise<PeerEnd> =>
    (stopping ??= (async (): Promise<PeerEnd> => {
      child.stdin?.end();
      if (await waitOrTimeout(exited, 3000)) return 'stdin-closed';
      child.kill('SIGTERM');
      if (await waitOrTimeout(exited, 2000)) return 'SIGTERM';
      child.kill('SIGKILL');
      await exited;
      return 'SIGKILL';
    })());

  let lineListener: ((line: PeerLine) => void) | null = null;
  const early: PeerLine[] = [];
  const onLine = (listener: ((line: PeerLine) => void) | null): void => {
    lineListener = listener;
    if (listener) for (const l of early.splice(0)) listener(l);
  };

  return new Promise<Peer>((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | null, info?: PeerInfo): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        void stop();
        reject(err);
      } else {
        resolve({ info: info!, stop, onLine });
      }
    };
    const timer = setTimeout(() => settle(new Error(`peer ${fileURLToPath(script)} did not report its address within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    child.once('error', (err) => settle(err));
    child.once('exit', (code, signal) => {
      const tail = stderr.length > 0 ? `: ${stderr.join('\n')}` : '';
      settle(new Error(`peer ${fileURLToPath(script)} exited (${code ?? signal}) before reporting its address${tail}`));
    });
    let first = true;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!first) {
        let later: PeerLine;
        try {
          later = JSON.parse(line) as PeerLine;
        } catch {
          return; // not a report: ignore stray output
        }
        if (lineListener) lineListener(later);
        else if (early.length < 10_000) early.push(later);
        return;
      }
      first = false;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        settle(new Error(`peer printed something other than its JSON address line: ${line}`));
        return;
      }
      if (typeof msg.error === 'string') settle(new Error(`peer failed to start: ${msg.error}`));
      else if (typeof msg.address !== 'string' || typeof msg.pid !== 'number') settle(new Error(`peer address line lacks address/pid: ${line}`));
      else settle(null, msg as PeerInfo);
    });
  });
}

/** Runs `fn` with a started peer and always stops the peer afterwards. */
export async function withPeer<T>(script: URL, args: readonly string[], fn: (peer: Peer) => Promise<T>): Promise<T> {
  const peer = await startPeer(script, args);
  try {
    return await fn(peer);
  } finally {
    await peer.stop();
  }
}
