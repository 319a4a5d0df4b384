import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative, type ClientOptions, type ServerOptions, type Tier } from '@fastpath/core';
import { makeCerts } from './certs.js';

/**
 * The transport matrix (zeromq.js `testProtos` pattern): every behaviour suite runs once per
 * entry. Each entry says where the server listens, extra options for both ends, and which tier
 * the connection must end up on. New tiers join by adding an entry here.
 */
export interface TransportCase {
  name: string;
  listen: () => string;
  server?: ServerOptions;
  client?: ClientOptions;
  path: Tier;
}

const dirs: string[] = [];
export function socketPath(name = 's.sock'): string {
  const dir = mkdtempSync(join(tmpdir(), 'fastpath-test-'));
  dirs.push(dir);
  return join(dir, name);
}

export function cleanupSocketDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

const off = { fastPath: 'off' } as const;
const certs = makeCerts();

const native = await loadNative();
export const shmAvailable = native.loaded && native.tiers?.includes('shm') === true;
if (!shmAvailable) console.log(`transport matrix: no shm tiers (${native.reason ?? 'the native addon registered no shm tier'})`);

export const transports: TransportCase[] = [
  // Plain transports, fast path off on the client: what a remote peer gets.
  { name: 'tcp', listen: () => 'tcp://127.0.0.1:0', client: off, path: 'tcp' },
  { name: 'tcp6', listen: () => 'tcp://[::1]:0', client: off, path: 'tcp' },
  { name: 'unix', listen: () => `unix:${socketPath()}`, client: off, path: 'uds' },
  // TLS over TCP (certificates made with openssl when this file loads), kept on TLS.
  { name: 'tls', listen: () => 'tls://127.0.0.1:0', server: { tls: { cert: certs.server.cert, key: certs.server.key } }, client: { ...off, tls: { ca: certs.ca } }, path: 'tcp' },
  // Negotiated tiers: the client connects over TCP and is upgraded.
  { name: 'uds (upgraded)', listen: () => 'tcp://127.0.0.1:0', client: { fastPath: 'require', tiers: ['uds'] }, path: 'uds' },
  // The shm tiers need the native addon: without a compiler at install, they are left out (and said so).
  ...(shmAvailable ? (['inline', 'worker', 'adaptive'] as const) : []).map(
    (mode): TransportCase => ({
      name: `shm-${mode}`,
      listen: () => 'tcp://127.0.0.1:0',
      server: { shm: { mode } },
      client: { fastPath: 'require', tiers: ['shm'], shm: { mode } },
      path: 'shm',
    }),
  ),
];
