import { FastpathError, Server, type ServerOptions } from '@fastpath/core';
import { expect } from 'vitest';

export const TOKENS = { alice: 'tok-alice-7f3a', bob: 'tok-bob-91c2' };
export const HMAC_KEYS = { 'svc-a': 'hmac-secret-a-5d1e' };

/** Who the server's interceptor and subject hooks saw, in order. */
export interface Seen {
  interceptor: Array<string | undefined>;
  subscribe: Array<[string, string | undefined]>;
  publish: Array<[string, string | undefined]>;
}

/** A server with tokens and HMAC keys, call authorization and subject hooks that record who asked. */
export function authServer(listen: string, extra: ServerOptions, seen: Seen): Server {
  const server = new Server({
    listen,
    ...extra,
    auth: { tokens: TOKENS, hmacKeys: HMAC_KEYS },
    // Only alice may reset; everyone else may call anything else.
    authorizeCall: (ctx) => ctx.method !== 'Admin.reset' || ctx.auth.identity === 'alice',
    authorize: {
      subscribe: async (subject, peer) => {
        seen.subscribe.push([subject, peer.auth.identity]);
        return !subject.startsWith('private.') || peer.auth.identity === 'alice';
      },
      publish: (subject, peer) => {
        seen.publish.push([subject, peer.auth.identity]);
        return !subject.startsWith('private.') || peer.auth.identity === 'alice';
      },
    },
  });
  server.use((call, next) => {
    seen.interceptor.push(call.auth.identity);
    expect(call.ctx.auth).toBe(call.auth);
    return next();
  });
  server.handle('Who.ami', (_req: unknown, ctx) => ({ identity: ctx.auth.identity, method: ctx.auth.method, claims: ctx.auth.claims }));
  server.handle('Admin.reset', () => 'reset');
  // The hook says "unauthenticated" (not just "denied") for clients that did not use an HMAC key.
  server.addService(
    'Vault',
    { open: () => 'opened' },
    {
      authorize: (ctx) => {
        if (ctx.auth.method !== 'hmac') throw new FastpathError('UNAUTHENTICATED', 'Vault needs an HMAC key', { details: { reason: 'hmac-required' } });
        return true;
      },
    },
  );
  // A per-method hook on top: opening the vault's backup needs a specific key id.
  server.handle('Vault.backup', () => 'backup', { authorize: async (ctx) => ctx.auth.identity === 'svc-b' });
  return server;
}
