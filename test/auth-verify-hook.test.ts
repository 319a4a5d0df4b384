// The auth `verify` hook (tcp): custom tokens with claims, refusals (false, a thrown error, a
// hook that fails or hangs), client auth options refused before anything is sent, and anonymous
// clients when authentication is not required.
import { connect, FastpathError, Server, type AuthContext } from '@fastpath/core';
import { describe, expect, it } from 'vitest';
import { TOKENS } from './helpers/auth-server.js';
import { rejectsWith } from './helpers/util.js';

describe('the verify hook (tcp)', () => {
  it('accepts custom tokens with claims, refuses by returning false or throwing, and times out', async () => {
    const errors: FastpathError[] = [];
    const server = new Server({
      listen: 'tcp://127.0.0.1:0',
      handshakeTimeoutMs: 300,
      auth: {
        tokens: TOKENS,
        verify: async (creds) => {
          if (creds.method === 'none') return undefined;
          if (creds.token.startsWith('jwt:')) return { identity: creds.token.slice(4), claims: { roles: ['reader'] } };
          if (creds.token === 'hang') return new Promise<never>(() => {});
          if (creds.token === 'boom') throw new Error('database at 10.0.0.7 is down');
          if (creds.token === 'revoked') throw new FastpathError('UNAUTHENTICATED', 'this token was revoked', { details: { reason: 'token-revoked' } });
          return false;
        },
      },
    });
    server.on('error', (e) => errors.push(e));
    server.handle('Who.ami', (_req: unknown, ctx) => ctx.auth satisfies AuthContext);
    await server.start();
    const opts = { fastPath: 'off', reconnect: false } as const;
    try {
      const carol = await connect(server.address, { ...opts, auth: { token: 'jwt:carol' } });
      expect(await carol.call('Who.ami')).toEqual({ identity: 'carol', method: 'custom', claims: { roles: ['reader'] } });
      await carol.close();
      // Listed tokens do not reach verify.
      const alice = await connect(server.address, { ...opts, auth: { token: TOKENS.alice } });
      expect(await alice.call('Who.ami')).toMatchObject({ identity: 'alice', method: 'token' });

      expect(await rejectsWith(connect(server.address, { ...opts, auth: { token: 'nobody' } }))).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'auth-failed' } });
      expect(await rejectsWith(connect(server.address, { ...opts, auth: { token: 'revoked' } }))).toMatchObject({
        code: 'UNAUTHENTICATED',
        message: 'this token was revoked',
        details: { reason: 'token-revoked' },
      });
      // A hook that fails is the server's problem: UNAVAILABLE (retryable), its message stays on the server.
      const boom = await rejectsWith(connect(server.address, { ...opts, auth: { token: 'boom' } }));
      expect(boom).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'auth-error' } });
      expect(boom.message).not.toContain('10.0.0.7');
      expect(errors.some((e) => e.details?.reason === 'auth-error' && e.message.includes('database at 10.0.0.7 is down'))).toBe(true);
      const hang = await rejectsWith(connect(server.address, { ...opts, auth: { token: 'hang' } }));
      expect(hang).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'auth-timeout' } });
      // Others are served throughout.
      expect(await alice.call('Who.ami')).toMatchObject({ identity: 'alice' });
      await alice.close();
    } finally {
      await server.close({ graceMs: 100 });
    }
  });

  it('refuses an invalid auth option before sending anything, without retrying or echoing the secret', async () => {
    const server = new Server({ listen: 'tcp://127.0.0.1:0', auth: { tokens: TOKENS } });
    const errors: FastpathError[] = [];
    server.on('error', (e) => errors.push(e));
    await server.start();
    try {
      const retry = { fastPath: 'off', reconnect: false, connectRetry: { attempts: 3, initialDelayMs: 1 } } as const;
      const empty = await rejectsWith(connect(server.address, { ...retry, auth: { token: '' } }));
      expect(empty).toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'bad-option' } });
      const badId = await rejectsWith(connect(server.address, { ...retry, auth: { hmac: { keyId: 'a\nb', secret: 'hunter2-secret' } } }));
      expect(badId).toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'bad-option' } });
      expect(badId.message).not.toContain('hunter2');
      // Nothing reached the server's authentication (no HELLO was sent).
      expect(errors).toEqual([]);
    } finally {
      await server.close({ graceMs: 100 });
    }
  });

  it('lets anonymous clients in when required is false, as method "none"', async () => {
    const server = new Server({ listen: 'tcp://127.0.0.1:0', auth: { tokens: TOKENS, required: false } });
    server.handle('Who.ami', (_req: unknown, ctx) => ctx.auth);
    await server.start();
    try {
      const anon = await connect(server.address, { fastPath: 'off', reconnect: false });
      expect(await anon.call('Who.ami')).toEqual({ method: 'none', claims: {} });
      await anon.close();
      const wrong = await rejectsWith(connect(server.address, { fastPath: 'off', reconnect: false, auth: { token: 'wrong' } }));
      expect(wrong.code).toBe('UNAUTHENTICATED');
    } finally {
      await server.close({ graceMs: 100 });
    }
  });
});
