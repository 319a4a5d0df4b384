/**
 * An shm offer's life in one process: one nobody attaches to times out, one cancelled cannot be
 * attached, and malformed tokens are refused; none of them leaves anything behind.
 */
import { describe, expect, it } from 'vitest';
import { HAS_ADDON, leftovers } from './__fixtures__/shm-harness.js';
import { attachShm, createShmOffer } from './index.js';

describe.skipIf(!HAS_ADDON)('offer lifecycle (in process)', () => {
  it('an offer nobody attaches to times out and leaves nothing behind', async () => {
    const offer = createShmOffer({ attachTimeoutMs: 200, mode: 'worker' });
    expect(leftovers(offer.token)).toHaveLength(2);
    await expect(offer.attached).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(leftovers(offer.token)).toEqual([]);
  });

  it('a cancelled offer cannot be attached', async () => {
    const offer = createShmOffer({ mode: 'worker' });
    offer.cancel();
    await expect(offer.attached).rejects.toMatchObject({ code: 'ECANCELED' });
    expect(() => attachShm(offer.token)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(leftovers(offer.token)).toEqual([]);
  });

  it('rejects malformed tokens before touching the system', () => {
    const offer = createShmOffer({ mode: 'worker' });
    try {
      for (const bad of [null, {}, { ...offer.token, shm: '/etc/passwd' }, { ...offer.token, dir: '/tmp/../etc' }, { ...offer.token, ringBytes: 5000 }, { ...offer.token, key: 'zz' }]) {
        expect(() => attachShm(bad)).toThrow(expect.objectContaining({ code: 'EBADTOKEN' }));
      }
      // Right names, wrong key: the header check refuses it.
      expect(() => attachShm({ ...offer.token, key: '0'.repeat(32) })).toThrow(expect.objectContaining({ code: 'EBADTOKEN' }));
    } finally {
      offer.cancel();
    }
  });
});
