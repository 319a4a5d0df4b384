import { describe, expect, it } from 'vitest';
import type { HelloFastPath } from '../protocol/upgrade-messages.js';
import type { Tier } from '../transport/types.js';
import { decideOffer, TLS_REQUIRED_BY_CLIENT, TLS_REQUIRED_BY_SERVER, withTls, type ServerFastPath } from './upgrade.js';

const server = (tiers: Array<[Tier, string | undefined]>, mode: ServerFastPath['mode'] = 'auto'): ServerFastPath => ({ mode, host: 'h1', uid: 1000, tiers: new Map(tiers) });
const hello = (over: Partial<HelloFastPath> = {}): HelloFastPath => ({ mode: 'auto', host: 'h1', uid: 1000, tiers: ['shm', 'uds'], ...over });

describe('decideOffer', () => {
  it('offers the best common tier', () => {
    expect(decideOffer(hello(), server([['shm', undefined], ['uds', undefined]]))).toEqual({ tier: 'shm' });
    expect(decideOffer(hello({ tiers: ['uds'] }), server([['shm', undefined], ['uds', undefined]]))).toEqual({ tier: 'uds' });
  });

  it('explains why faster tiers were skipped', () => {
    const d = decideOffer(hello({ tiers: ['uds'], unavailable: { shm: 'native addon unavailable: disabled by FASTPATH_NATIVE=0' } }), server([['shm', undefined], ['uds', undefined]]));
    expect(d).toEqual({ tier: 'uds', reason: 'shm: native addon unavailable: disabled by FASTPATH_NATIVE=0 (client)' });
    const s = decideOffer(hello(), server([['shm', 'native addon unavailable: not built'], ['uds', undefined]]));
    expect(s).toEqual({ tier: 'uds', reason: 'shm: native addon unavailable: not built (server)' });
  });

  it('gives the reason for every slow path', () => {
    expect(decideOffer(hello(), server([['uds', undefined]], 'off')).reason).toBe('peer opted out (server fastPath is off)');
    expect(decideOffer(undefined, server([['uds', undefined]])).reason).toBe('peer opted out (client fastPath is off)');
    expect(decideOffer(hello({ host: 'elsewhere' }), server([['uds', undefined]])).reason).toBe('remote peer');
    expect(decideOffer(hello({ uid: 0 }), server([['uds', undefined]])).reason).toMatch(/another user \(uid 0; server uid 1000\)/);
    const none = decideOffer(hello({ tiers: [], unavailable: { shm: 'no addon', uds: 'windows' } }), server([['uds', undefined]]));
    expect(none.tier).toBeUndefined();
    expect(none.reason).toBe('no common fast tier (shm: no addon (client); uds: windows (client))');
  });

  it('only offers tiers faster than the one the connection is on', () => {
    expect(decideOffer(hello(), server([['shm', undefined], ['uds', undefined]]), 'uds')).toEqual({ tier: 'shm' });
    expect(decideOffer(hello({ tiers: ['uds'] }), server([['uds', undefined]]), 'uds')).toEqual({ reason: 'already on uds' });
  });

  it("keeps a TLS connection on TCP when either end's tlsLocal is 'require'", () => {
    const both = server([['shm', undefined], ['uds', undefined]]);
    const strict: ServerFastPath = { ...both, tlsLocal: 'require' };
    // Plain TCP: tlsLocal does not apply.
    expect(decideOffer(hello(), strict, 'tcp', false)).toEqual({ tier: 'shm' });
    expect(decideOffer(hello({ tlsLocal: 'require' }), both, 'tcp', false)).toEqual({ tier: 'shm' });
    // TLS with 'skip' on both ends: upgraded like any same-host connection.
    expect(decideOffer(hello(), { ...both, tlsLocal: 'skip' }, 'tcp', true)).toEqual({ tier: 'shm' });
    expect(decideOffer(hello(), strict, 'tcp', true)).toEqual({ reason: TLS_REQUIRED_BY_SERVER });
    expect(decideOffer(hello({ tlsLocal: 'require' }), both, 'tcp', true)).toEqual({ reason: TLS_REQUIRED_BY_CLIENT });
    // A remote peer is reported as remote first.
    expect(decideOffer(hello({ host: 'elsewhere' }), strict, 'tcp', true)).toEqual({ reason: 'remote peer' });
  });
});

describe('withTls', () => {
  const tlsConn = { tier: 'tcp' as Tier, tls: { protocol: 'TLSv1.3' } };
  it('marks paths of TLS connections only', () => {
    expect(withTls({ path: 'tcp' }, { tier: 'tcp' })).toEqual({ path: 'tcp' });
    expect(withTls({ path: 'tcp', reason: 'remote peer' }, tlsConn)).toEqual({ path: 'tcp', reason: 'remote peer', tls: true });
    expect(withTls({ path: 'shm' }, tlsConn)).toEqual({ path: 'shm', tls: 'skipped-same-host' });
    expect(withTls({ path: 'uds', reason: 'shm: not built (server)' }, tlsConn)).toEqual({ path: 'uds', reason: 'shm: not built (server)', tls: 'skipped-same-host' });
  });
});
