import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HMAC_SCHEME, helloAuth, hmacInput, parseHelloAuth, TOKEN_SCHEME, type HmacAuth } from './auth.js';

const NONCE = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

describe('HELLO auth', () => {
  it('signs the documented string: label, key id, seconds, nonce hex, binding', () => {
    expect(hmacInput('svc-a', 1700000000, NONCE, undefined)).toBe('fastpath-hmac-sha256-v1\nsvc-a\n1700000000\n000102030405060708090a0b0c0d0e0f\n');
    expect(hmacInput('k', 1, NONCE, Buffer.from([0xab, 0xcd]))).toBe('fastpath-hmac-sha256-v1\nk\n1\n000102030405060708090a0b0c0d0e0f\ntls-exporter:abcd');
  });

  it('builds an HMAC proof a reader can check with nothing but HMAC-SHA256', () => {
    const p = helloAuth({ hmac: { keyId: 'svc-a', secret: 's3cret' } }, undefined, 1_700_000_000_999, NONCE) as HmacAuth;
    expect(p).toMatchObject({ scheme: HMAC_SCHEME, keyId: 'svc-a', ts: 1_700_000_000 });
    expect(p.cb).toBeUndefined();
    const expected = createHmac('sha256', 's3cret').update(`fastpath-hmac-sha256-v1\nsvc-a\n1700000000\n${NONCE.toString('hex')}\n`).digest();
    expect(Buffer.from(p.mac).equals(expected)).toBe(true);
    // A Uint8Array secret with the same bytes gives the same proof.
    const q = helloAuth({ hmac: { keyId: 'svc-a', secret: Buffer.from('s3cret') } }, undefined, 1_700_000_000_000, NONCE) as HmacAuth;
    expect(Buffer.from(q.mac).equals(expected)).toBe(true);
    // Bound to a TLS exporter: flagged, and a different MAC.
    const bound = helloAuth({ hmac: { keyId: 'svc-a', secret: 's3cret' } }, Buffer.alloc(32, 7), 1_700_000_000_000, NONCE) as HmacAuth;
    expect(bound.cb).toBe('tls-exporter');
    expect(Buffer.from(bound.mac).equals(expected)).toBe(false);
  });

  it('uses a fresh random nonce for every proof', () => {
    const a = helloAuth({ hmac: { keyId: 'k', secret: 'x' } }, undefined) as HmacAuth;
    const b = helloAuth({ hmac: { keyId: 'k', secret: 'x' } }, undefined) as HmacAuth;
    expect(a.nonce).toHaveLength(16);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
  });

  it('refuses bad client options without putting the secret in the message', () => {
    expect(() => helloAuth({ token: '' }, undefined)).toThrow(/non-empty/);
    expect(() => helloAuth({ hmac: { keyId: 'a\nb', secret: 'hunter2' } }, undefined)).toThrow(/printable/);
    try {
      helloAuth({ hmac: { keyId: '', secret: 'hunter2' } }, undefined);
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('parses what the client sends, and says what is wrong with the rest', () => {
    expect(parseHelloAuth(undefined)).toBeUndefined();
    expect(parseHelloAuth(null)).toBeUndefined();
    expect(parseHelloAuth({ scheme: 'token', token: 't' })).toEqual({ scheme: TOKEN_SCHEME, token: 't' });
    const p = helloAuth({ hmac: { keyId: 'k', secret: 'x' } }, undefined, 5000, NONCE);
    expect(parseHelloAuth({ ...p })).toEqual(p);
    expect(parseHelloAuth('token')).toEqual({ malformed: expect.any(String) });
    expect(parseHelloAuth({ scheme: 'token', token: 5 })).toEqual({ malformed: expect.any(String) });
    expect(parseHelloAuth({ ...p, nonce: Buffer.alloc(8) })).toEqual({ malformed: expect.stringMatching(/nonce/) });
    expect(parseHelloAuth({ ...p, mac: Buffer.alloc(31) })).toEqual({ malformed: expect.stringMatching(/mac/) });
    expect(parseHelloAuth({ ...p, ts: -1 })).toEqual({ malformed: expect.stringMatching(/ts/) });
    expect(parseHelloAuth({ ...p, ts: 1.5 })).toEqual({ malformed: expect.stringMatching(/ts/) });
    expect(parseHelloAuth({ ...p, cb: 'tls-unique' })).toEqual({ unsupported: expect.stringMatching(/tls-unique/) });
    expect(parseHelloAuth({ scheme: 'kerberos' })).toEqual({ unsupported: 'auth scheme "kerberos"' });
  });
});
