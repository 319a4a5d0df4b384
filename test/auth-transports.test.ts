// Authentication in HELLO (tokens, HMAC proofs) and authorization (per call, per service, per
// method, per subject), over every transport in the matrix: who the client is reaches handlers,
// interceptors and hooks; a refused call, subscription or publish fails alone; bad or missing
// credentials fail connect() once. The HMAC edge cases are in test/auth-hmac.test.ts, the verify
// hook in test/auth-verify-hook.test.ts.
import { connect, type Client, type FastpathError, type Server } from '@fastpath/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authServer, HMAC_KEYS, TOKENS, type Seen } from './helpers/auth-server.js';
import { cleanupSocketDirs, transports } from './helpers/matrix.js';
import { rejectsWith, until } from './helpers/util.js';

afterAll(cleanupSocketDirs);

describe.each(transports)('auth over $name', (tc) => {
  let server: Server;
  const seen: Seen = { interceptor: [], subscribe: [], publish: [] };
  const errors: FastpathError[] = [];

  beforeAll(async () => {
    server = authServer(tc.listen(), tc.server ?? {}, seen);
    server.on('error', (e) => errors.push(e));
    await server.start();
    return () => server.close({ graceMs: 100 });
  });

  const open = (auth: NonNullable<Parameters<typeof connect>[1]>['auth']): Promise<Client> => connect(server.address, { ...tc.client, auth, reconnect: false });

  it('a token client is known to the handler and the interceptors; a denied call fails alone and the connection keeps serving', async () => {
    const bob = await open({ token: TOKENS.bob });
    const alice = await open({ token: TOKENS.alice });
    try {
      expect(bob.path).toBe(tc.path);
      expect(await bob.call('Who.ami')).toEqual({ identity: 'bob', method: 'token', claims: {} });
      const denied = await rejectsWith(bob.call('Admin.reset'));
      expect(denied.code).toBe('PERMISSION_DENIED');
      expect(denied.details).toMatchObject({ reason: 'call-denied', method: 'Admin.reset' });
      // The hook chose UNAUTHENTICATED for this one.
      const vault = await rejectsWith(bob.call('Vault.open'));
      expect(vault.code).toBe('UNAUTHENTICATED');
      expect(vault.details?.reason).toBe('hmac-required');
      // Same connection, still serving; another client is not affected.
      expect(await bob.call('Who.ami')).toMatchObject({ identity: 'bob' });
      expect(await alice.call('Admin.reset')).toBe('reset');
      expect(bob.state).toBe('open');
      expect(seen.interceptor.slice(-5)).toEqual(['bob', 'bob', 'bob', 'bob', 'alice']);
      const infos = server.connections().map((c) => c.auth.identity).sort();
      expect(infos).toEqual(['alice', 'bob']);
    } finally {
      await bob.close();
      await alice.close();
    }
  });

  it('an HMAC client is known by its key id; per-service and per-method hooks both apply', async () => {
    const svc = await open({ hmac: { keyId: 'svc-a', secret: HMAC_KEYS['svc-a'] } });
    try {
      expect(await svc.call('Who.ami')).toEqual({ identity: 'svc-a', method: 'hmac', claims: {} });
      expect(await svc.call('Vault.open')).toBe('opened');
      const backup = await rejectsWith(svc.call('Vault.backup'));
      expect(backup.code).toBe('PERMISSION_DENIED');
      expect(await svc.call('Vault.open')).toBe('opened');
    } finally {
      await svc.close();
    }
  });

  it('subject hooks see who the client is; a refused subscription or publish fails alone', async () => {
    const bob = await open({ token: TOKENS.bob });
    const alice = await open({ token: TOKENS.alice });
    try {
      const refused = bob.subscribe('private.plans');
      const err = await rejectsWith(refused.ready);
      expect(err.code).toBe('PERMISSION_DENIED');
      expect(err.details).toMatchObject({ reason: 'subscribe-denied', subject: 'private.plans' });
      const pub = await rejectsWith(bob.publish('private.plans', 'leak', { ack: true }));
      expect(pub.code).toBe('PERMISSION_DENIED');

      const mine = alice.subscribe<string>('private.plans');
      await mine.ready;
      const open = bob.subscribe<string>('public.news');
      await open.ready;
      await alice.publish('private.plans', 'secret plan', { ack: true });
      await bob.publish('public.news', 'hello', { ack: true });
      const it1 = mine[Symbol.asyncIterator]();
      const it2 = open[Symbol.asyncIterator]();
      expect((await it1.next()).value).toMatchObject({ subject: 'private.plans', data: 'secret plan' });
      expect((await it2.next()).value).toMatchObject({ subject: 'public.news', data: 'hello' });
      expect(seen.subscribe.slice(-3)).toEqual([
        ['private.plans', 'bob'],
        ['private.plans', 'alice'],
        ['public.news', 'bob'],
      ]);
      expect(seen.publish.slice(-3)).toEqual([
        ['private.plans', 'bob'],
        ['private.plans', 'alice'],
        ['public.news', 'bob'],
      ]);
      expect(await bob.call('Who.ami')).toMatchObject({ identity: 'bob' });
      await it1.return?.();
      await it2.return?.();
    } finally {
      await bob.close();
      await alice.close();
    }
  });

  it('a wrong token, a wrong HMAC secret or no credentials: connect() rejects UNAUTHENTICATED, once (not retried), secrets never echoed', async () => {
    const before = errors.length;
    const retry = { connectRetry: { attempts: 3, initialDelayMs: 1 } };
    const wrong = await rejectsWith(connect(server.address, { ...tc.client, ...retry, auth: { token: 'tok-mallory-0000' } }));
    expect(wrong.code).toBe('UNAUTHENTICATED');
    expect(wrong.remote).toBe(true);
    expect(wrong.details?.reason).toBe('auth-failed');
    expect(wrong.message).not.toContain('tok-mallory');
    const badKey = await rejectsWith(connect(server.address, { ...tc.client, ...retry, auth: { hmac: { keyId: 'svc-a', secret: 'not-the-secret' } } }));
    expect(badKey.code).toBe('UNAUTHENTICATED');
    expect(badKey.details?.reason).toBe('auth-failed');
    const none = await rejectsWith(connect(server.address, { ...tc.client, ...retry }));
    expect(none.code).toBe('UNAUTHENTICATED');
    expect(none.details?.reason).toBe('auth-required');
    // One refusal each: UNAUTHENTICATED is final, connectRetry did not try again.
    await until(() => errors.length >= before + 3, 2000, 'error events');
    const refusals = errors.slice(before);
    expect(refusals.map((e) => [e.code, e.details?.reason])).toEqual([
      ['UNAUTHENTICATED', 'auth-failed'],
      ['UNAUTHENTICATED', 'auth-failed'],
      ['UNAUTHENTICATED', 'auth-required'],
    ]);
    for (const e of refusals) expect(e.message).not.toMatch(/tok-mallory|not-the-secret/);
    expect(server.connections()).toHaveLength(0);
    // The server keeps serving.
    const ok = await open({ token: TOKENS.alice });
    expect(await ok.call('Who.ami')).toMatchObject({ identity: 'alice' });
    await ok.close();
  });
});
