import { describe, expect, it } from 'vitest';
import { helloAuth } from '../protocol/auth.js';
import { FastpathError } from '../protocol/errors.js';
import { AuthVerifier } from './auth-verify.js';

const peer = { remote: 'tcp://127.0.0.1:1' };

/** The error a verification refuses with (sync throw or rejection). */
async function refusal(run: () => unknown): Promise<FastpathError> {
  try {
    await run();
  } catch (err) {
    if (FastpathError.is(err)) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('AuthVerifier', () => {
  it('accepts a listed token as its identity, refuses others, and requires credentials by default', async () => {
    const v = new AuthVerifier({ tokens: { alice: 'tok-alice', bob: 'tok-bob' } });
    expect(v.required).toBe(true);
    expect(v.verify({ scheme: 'token', token: 'tok-bob' }, peer, undefined)).toEqual({ identity: 'bob', method: 'token', claims: {} });
    const wrong = await refusal(() => v.verify({ scheme: 'token', token: 'tok-alicf' }, peer, undefined));
    expect(wrong).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'auth-failed' } });
    expect(wrong.message).not.toContain('tok-alic');
    expect(await refusal(() => v.verify(undefined, peer, undefined))).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'auth-required' } });
    expect(await refusal(() => v.verify({ scheme: 'token' }, peer, undefined))).toMatchObject({ details: { reason: 'auth-malformed' } });
    expect(await refusal(() => v.verify({ scheme: 'hmac-sha256-v1', keyId: 'k', ts: 1, nonce: Buffer.alloc(16), mac: Buffer.alloc(32) }, peer, undefined))).toMatchObject({
      details: { reason: 'auth-unsupported' },
    });
  });

  it('lets anonymous clients in when required is false, but never a wrong credential', async () => {
    const v = new AuthVerifier({ tokens: { alice: 'tok-alice' }, required: false });
    expect(v.verify(undefined, peer, undefined)).toEqual({ identity: undefined, method: 'none', claims: {} });
    expect(await refusal(() => v.verify({ scheme: 'token', token: 'nope' }, peer, undefined))).toMatchObject({ details: { reason: 'auth-failed' } });
  });

  it('checks HMAC proofs: key, MAC, time window, replay, and the channel binding', async () => {
    const v = new AuthVerifier({ hmacKeys: { 'svc-a': 'secret-a' }, hmacWindowMs: 30_000 });
    const now = 1_700_000_000_000;
    const good = helloAuth({ hmac: { keyId: 'svc-a', secret: 'secret-a' } }, undefined, now);
    expect(v.verify(good, peer, undefined, now + 5000)).toEqual({ identity: 'svc-a', method: 'hmac', claims: {} });
    expect(await refusal(() => v.verify(good, peer, undefined, now + 6000))).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'auth-replayed' } });
    const badKey = helloAuth({ hmac: { keyId: 'svc-a', secret: 'secret-b' } }, undefined, now);
    expect(await refusal(() => v.verify(badKey, peer, undefined, now))).toMatchObject({ details: { reason: 'auth-failed' } });
    const unknown = helloAuth({ hmac: { keyId: 'svc-x', secret: 'secret-a' } }, undefined, now);
    expect(await refusal(() => v.verify(unknown, peer, undefined, now))).toMatchObject({ details: { reason: 'auth-failed' } });
    const old = helloAuth({ hmac: { keyId: 'svc-a', secret: 'secret-a' } }, undefined, now - 31_000);
    const stale = await refusal(() => v.verify(old, peer, undefined, now));
    expect(stale).toMatchObject({ details: { reason: 'auth-expired' } });
    expect(stale.message).toMatch(/-3[01] s from the server's clock/);
    const future = helloAuth({ hmac: { keyId: 'svc-a', secret: 'secret-a' } }, undefined, now + 40_000);
    expect(await refusal(() => v.verify(future, peer, undefined, now))).toMatchObject({ details: { reason: 'auth-expired' } });
    // A proof bound to one TLS session is refused on another one, and on a connection without TLS.
    const bound = helloAuth({ hmac: { keyId: 'svc-a', secret: 'secret-a' } }, Buffer.alloc(32, 1), now);
    expect(await refusal(() => v.verify(bound, peer, Buffer.alloc(32, 2), now))).toMatchObject({ details: { reason: 'auth-failed' } });
    expect(await refusal(() => v.verify(bound, peer, undefined, now))).toMatchObject({ details: { reason: 'auth-failed' } });
    expect(v.verify(bound, peer, Buffer.alloc(32, 1), now)).toMatchObject({ identity: 'svc-a' });
    // A tampered field breaks the MAC.
    const tampered = { ...helloAuth({ hmac: { keyId: 'svc-a', secret: 'secret-a' } }, undefined, now), ts: Math.floor(now / 1000) + 1 };
    expect(await refusal(() => v.verify(tampered, peer, undefined, now))).toMatchObject({ details: { reason: 'auth-failed' } });
  });

  it('looks HMAC keys up with a function, sync or async', async () => {
    const keys = new Map([['k1', 'one']]);
    const v = new AuthVerifier({ hmacKeys: async (id) => keys.get(id) });
    const p = helloAuth({ hmac: { keyId: 'k1', secret: 'one' } }, undefined);
    await expect(v.verify(p, peer, undefined)).resolves.toMatchObject({ identity: 'k1', method: 'hmac' });
    await expect(v.verify(helloAuth({ hmac: { keyId: 'k2', secret: 'one' } }, undefined), peer, undefined)).rejects.toMatchObject({ details: { reason: 'auth-failed' } });
  });

  it('asks verify about unlisted tokens and missing credentials, with claims', async () => {
    const seen: unknown[] = [];
    const v = new AuthVerifier<typeof peer>({
      tokens: { alice: 'tok-alice' },
      verify: async (creds, p) => {
        seen.push([creds, p.remote]);
        if (creds.method === 'token' && creds.token.startsWith('jwt.')) return { identity: creds.token.slice(4), claims: { role: 'admin' } };
        if (creds.method === 'token' && creds.token === 'expired') throw new FastpathError('UNAUTHENTICATED', 'token expired', { details: { reason: 'token-expired' } });
        return false;
      },
    });
    expect(v.verify({ scheme: 'token', token: 'tok-alice' }, peer, undefined)).toMatchObject({ identity: 'alice', method: 'token' });
    await expect(v.verify({ scheme: 'token', token: 'jwt.carol' }, peer, undefined)).resolves.toEqual({ identity: 'carol', method: 'custom', claims: { role: 'admin' } });
    await expect(v.verify({ scheme: 'token', token: 'expired' }, peer, undefined)).rejects.toMatchObject({ message: 'token expired', details: { reason: 'token-expired' } });
    await expect(v.verify({ scheme: 'token', token: 'other' }, peer, undefined)).rejects.toMatchObject({ details: { reason: 'auth-failed' } });
    await expect(v.verify(undefined, peer, undefined)).rejects.toMatchObject({ details: { reason: 'auth-required' } });
    expect(seen).toEqual([
      [{ method: 'token', token: 'jwt.carol' }, peer.remote],
      [{ method: 'token', token: 'expired' }, peer.remote],
      [{ method: 'token', token: 'other' }, peer.remote],
      [{ method: 'none' }, peer.remote],
    ]);
  });
});
