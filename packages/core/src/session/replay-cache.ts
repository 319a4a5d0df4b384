/** What the replay cache says about one proof. */
export type ReplayVerdict = 'fresh' | 'replayed' | 'stale';

/**
 * Remembers the nonces of accepted HMAC proofs for as long as their timestamp is acceptable, so
 * that a captured HELLO cannot be used twice. Memory is bounded by `maxEntries`: when the cache is
 * full, the oldest entry is forgotten and every proof with a timestamp at or before the forgotten
 * one's is refused from then on (`stale`). Under a flood the accepted window shrinks; a replay is
 * never let through.
 */
export class ReplayCache {
  /** key -> the time (ms) after which its timestamp is stale anyway; insertion order. */
  private readonly entries = new Map<string, number>();
  /** Proofs with a timestamp (ms) at or below this are refused: an entry this old was evicted. */
  private floorMs = -Infinity;

  constructor(
    /** A proof is accepted while |now - ts| <= windowMs. */
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Checks a proof that was already verified, and remembers it if it is fresh. */
  check(key: string, tsMs: number, nowMs: number): ReplayVerdict {
    this.prune(nowMs);
    if (Math.abs(nowMs - tsMs) > this.windowMs || tsMs <= this.floorMs) return 'stale';
    if (this.entries.has(key)) return 'replayed';
    while (this.entries.size >= this.maxEntries) {
      const [oldest, expires] = this.entries.entries().next().value as [string, number];
      this.entries.delete(oldest);
      this.floorMs = Math.max(this.floorMs, expires - this.windowMs);
    }
    if (tsMs <= this.floorMs) return 'stale';
    this.entries.set(key, tsMs + this.windowMs);
    return 'fresh';
  }

  /** Forgets entries from the front whose timestamps are stale by now (they would be refused anyway). */
  private prune(nowMs: number): void {
    for (const [key, expires] of this.entries) {
      if (expires >= nowMs) break;
      this.entries.delete(key);
    }
  }
}
