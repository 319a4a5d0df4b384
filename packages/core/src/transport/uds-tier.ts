import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessSync, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { NetConnection } from './net-connection.js';
import { unixTransport } from './net-transport.js';
import type { Connection } from './types.js';
import type { TierServer, UpgradeTier } from './upgrade-tier.js';

function runtimeDir(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg) {
    try {
      accessSync(xdg, constants.W_OK);
      return xdg;
    } catch {
      /* fall through */
    }
  }
  return tmpdir();
}

const DIR_PREFIX = 'fastpath-uds-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes attach directories left by servers of this user that died without closing (kill -9):
 * their names carry the owner's pid. Bounded, best effort, never throws.
 */
export async function sweepStaleDirs(base: string, limit = 100): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return 0;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (removed >= limit) break;
    const m = /^fastpath-uds-(\d+)-/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const dir = join(base, name);
    try {
      if (uid !== undefined && (await stat(dir)).uid !== uid) continue;
      await rm(dir, { recursive: true, force: true });
      removed++;
    } catch {
      /* raced with another sweeper, or not ours */
    }
  }
  return removed;
}

/** Windows: "\\.\pipe\fastpath-<pid>-<32 hex random>", the form win32Listen makes. */
const PIPE_NAME = /^\\\\\.\\pipe\\fastpath-[0-9]{1,10}-[0-9a-f]{32}$/;

/**
 * Windows: a named pipe with an unguessable name, through node:net. Named pipes live in their own
 * namespace and vanish with the process, so there is no directory to make, chmod or sweep. The
 * pipe gets Windows' default security for named pipes (full control for the creator, SYSTEM and
 * administrators; read-only for everyone else, which cannot send the upgrade nonce), and
 * node:net's readableAll/writableAll stay off. docs/windows.md says what this does not prove.
 */
async function win32Listen(onConnection: (conn: Connection) => void): Promise<TierServer> {
  const path = `\\\\.\\pipe\\fastpath-${process.pid}-${randomBytes(16).toString('hex')}`;
  const server = createServer((socket) => onConnection(new NetConnection(socket, 'uds', `pipe:${path}`, `pipe:${path}`)));
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path, readableAll: false, writableAll: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    offer: async () => ({ params: { path }, cancel: () => {} }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The `uds` tier, pure TypeScript: the server listens on a Unix socket in a fresh directory of
 * mode 0700 (so only its own user, or root, can reach the socket, which is itself 0600), under
 * $XDG_RUNTIME_DIR or the tmpdir, with an unguessable name. Same-host clients attach there.
 * The directory name carries the server's pid, so a server that starts later removes the
 * directories of servers of the same user that were killed before they could.
 */
export const udsTier: UpgradeTier = {
  tier: 'uds',
  unavailableReason() {
    return undefined;
  },
  async listen(onConnection: (conn: Connection) => void): Promise<TierServer> {
    if (process.platform === 'win32') return win32Listen(onConnection);
    const base = runtimeDir();
    await sweepStaleDirs(base);
    const dir = await mkdtemp(join(base, `${DIR_PREFIX}${process.pid}-`));
    const path = join(dir, 'attach.sock');
    const listener = await unixTransport.listen({ scheme: 'unix', path }, onConnection, { socketMode: 0o600 });
    return {
      offer: async () => ({ params: { path }, cancel: () => {} }),
      close: async () => {
        await listener.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  async attach(params: Record<string, unknown>): Promise<Connection> {
    if (typeof params.path !== 'string') throw new Error('uds offer has no path');
    if (process.platform === 'win32' && !PIPE_NAME.test(params.path)) throw new Error('uds offer has no valid pipe name');
    return unixTransport.connect({ scheme: 'unix', path: params.path }, { timeoutMs: 2000 });
  },
};
