import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { FixedMessages } from './fixed-messages.js';
import { startPeer } from './peer-process.js';
import { connectRawEcho } from './raw-socket.js';

const RAW_ECHO = new URL('./peers/raw-echo.ts', import.meta.url);

describe('echo peers in child processes', () => {
  it('the raw echo peer reports its address, echoes whole messages, and exits when its stdin closes', async () => {
    const peer = await startPeer(RAW_ECHO, ['127.0.0.1']);
    try {
      expect(peer.info.address).toBe(`tcp://127.0.0.1:${peer.info.port as number}`);
      expect(peer.info.pid).not.toBe(process.pid);
      const socket = net.connect({ host: '127.0.0.1', port: peer.info.port as number });
      const got: Buffer[] = [];
      const twoBack = new Promise<void>((resolve) => {
        const fm = new FixedMessages(16, (m) => {
          got.push(Buffer.from(m));
          if (got.length === 2) resolve();
        });
        socket.on('data', (c: Buffer) => fm.push(c));
      });
      const a = Buffer.alloc(16, 0xaa);
      const b = Buffer.alloc(16, 0xbb);
      // The first 4 bytes announce the message size (16); the messages follow in the same write,
      // split across writes: the peer must still echo whole 16-byte messages.
      socket.write(Buffer.concat([Buffer.from([16, 0, 0, 0]), a, b.subarray(0, 5)]));
      setTimeout(() => socket.write(b.subarray(5)), 20);
      await twoBack;
      expect(got[0]!.equals(a)).toBe(true);
      expect(got[1]!.equals(b)).toBe(true);
      socket.destroy();
    } finally {
      expect(await peer.stop()).toBe('stdin-closed');
    }
  });

  it.skipIf(process.platform === 'win32')('the raw echo peer listens on a Unix socket for `unix` and removes it when it exits', async () => {
    const peer = await startPeer(RAW_ECHO, ['unix']);
    const path = peer.info.path as string;
    try {
      expect(peer.info.address).toBe(`unix:${path}`);
      expect(existsSync(path)).toBe(true);
      const socket = await connectRawEcho(peer.info, 16);
      const echo = new Promise<Buffer>((resolve) => socket.once('data', (c: Buffer) => resolve(c)));
      socket.write(Buffer.alloc(16, 0x5a));
      expect((await echo).equals(Buffer.alloc(16, 0x5a))).toBe(true);
      socket.destroy();
    } finally {
      expect(await peer.stop()).toBe('stdin-closed');
    }
    expect(existsSync(dirname(path))).toBe(false);
  });

  it('a peer that cannot listen reports why, and startPeer rejects with it', async () => {
    // 192.0.2.1 (TEST-NET-1) is never a local address, so listening on it fails.
    await expect(startPeer(RAW_ECHO, ['192.0.2.1'])).rejects.toThrow(/peer failed to start: .*EADDRNOTAVAIL/);
  });
});
