import { FastpathError, toFastpathError } from '../protocol/errors.js';
import { backoffDelay, type BackoffOptions } from '../session/backoff.js';

/**
 * Where to connect: one URL, a list of URLs (tried in turn), or a resolver called before every
 * attempt, which is how an application follows a service that moves.
 */
export type ConnectTarget = string | readonly string[] | (() => string | readonly string[] | Promise<string | readonly string[]>);

export interface RetryOptions extends BackoffOptions {
  /** How many rounds over the addresses before giving up (default 1: no retry). Infinity is allowed. */
  attempts?: number;
}

export interface TargetOptions {
  /** The order a list of addresses is tried in (default 'in-order'). */
  addressOrder?: 'in-order' | 'random';
  /** Retry the first connect, with exponential backoff and jitter between rounds. */
  connectRetry?: RetryOptions;
  signal?: AbortSignal;
}

async function addressesOf(target: ConnectTarget): Promise<string[]> {
  let value: string | readonly string[];
  try {
    value = typeof target === 'function' ? await target() : target;
  } catch (err) {
    throw new FastpathError('UNAVAILABLE', `the address resolver failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { reason: 'resolver-failed' } });
  }
  const list = typeof value === 'string' ? [value] : [...value];
  if (list.length === 0 || !list.every((a) => typeof a === 'string')) {
    throw new FastpathError('INVALID_ARGUMENT', 'connect() needs an address, a non-empty list of addresses, or a resolver returning one', { details: { reason: 'bad-address' } });
  }
  return list;
}

function shuffled<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new FastpathError('CANCELLED', 'connect was aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new FastpathError('CANCELLED', 'connect was aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` over the target's addresses, round after round, until one connects. Only
 * UNAVAILABLE (refused, timed out, lost during the handshake) moves on to the next address or
 * round; any other error (a refused protocol version, a required fast path, a bad address) is
 * final. The last UNAVAILABLE is thrown when the rounds run out, with `details.attempts`.
 */
export async function connectToTarget<T>(target: ConnectTarget, options: TargetOptions, attempt: (url: string) => Promise<T>): Promise<T> {
  const rounds = options.connectRetry?.attempts ?? 1;
  if (!(rounds >= 1)) throw new FastpathError('INVALID_ARGUMENT', 'connectRetry.attempts must be at least 1', { details: { reason: 'bad-option' } });
  let last: FastpathError | undefined;
  let tries = 0;
  for (let round = 1; round <= rounds; round++) {
    const addresses = await addressesOf(target);
    for (const url of options.addressOrder === 'random' ? shuffled(addresses) : addresses) {
      tries++;
      try {
        return await attempt(url);
      } catch (err) {
        const e = toFastpathError(err, 'UNAVAILABLE');
        if (e.code !== 'UNAVAILABLE') throw e;
        last = e;
      }
    }
    if (round < rounds) await sleep(backoffDelay(round, options.connectRetry), options.signal);
  }
  throw new FastpathError('UNAVAILABLE', last ? `${last.message} (after ${tries} attempt${tries === 1 ? '' : 's'})` : 'no address to connect to', {
    cause: last,
    details: { ...last?.details, attempts: tries },
  });
}
