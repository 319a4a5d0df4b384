// Shared by the raw (no framework) peers: listen on TCP loopback or on a Unix socket, and say
// where, in the form the address line needs.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RawListening {
  /** For the address line: `address` plus `host`/`port` (TCP) or `path` (Unix socket). */
  info: { address: string; host?: string; port?: number; path?: string };
  close(): Promise<void>;
}

/** Listens on `host` (127.0.0.1, ::1) with an OS-picked port, or on a fresh Unix socket for `unix`. */
export async function listenRaw(server: net.Server, host: string): Promise<RawListening> {
  const unixDir = host === 'unix' ? mkdtempSync(join(tmpdir(), 'fastpath-bench-')) : undefined;
  const path = unixDir === undefined ? undefined : join(unixDir, 'raw.sock');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (path !== undefined) server.listen({ path }, done);
    else server.listen({ host, port: 0, ipv6Only: net.isIPv6(host) }, done);
  });
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => {
        if (unixDir !== undefined) rmSync(unixDir, { recursive: true, force: true });
        resolve();
      });
    });
  if (path !== undefined) return { info: { address: `unix:${path}`, path }, close };
  const { address, port } = server.address() as net.AddressInfo;
  return { info: { address: net.isIPv6(address) ? `tcp://[${address}]:${port}` : `tcp://${address}:${port}`, host: address, port }, close };
}
