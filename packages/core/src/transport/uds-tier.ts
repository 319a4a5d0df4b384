import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessSync, constants } from 'node:fs';
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

/**
 * The `uds` tier, pure TypeScript: the server listens on a Unix socket in a fresh directory of
 * mode 0700 (so only its own user, or root, can reach the socket, which is itself 0600), under
 * $XDG_RUNTIME_DIR or the tmpdir, with an unguessable name. Same-host clients attach there.
 */
export const udsTier: UpgradeTier = {
  tier: 'uds',
  unavailableReason() {
    return process.platform === 'win32' ? 'unix sockets are not used on Windows (named pipes: not implemented yet)' : undefined;
  },
  async listen(onConnection: (conn: Connection) => void): Promise<TierServer> {
    const dir = await mkdtemp(join(runtimeDir(), 'fastpath-'));
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
    return unixTransport.connect({ scheme: 'unix', path: params.path }, { timeoutMs: 2000 });
  },
};
