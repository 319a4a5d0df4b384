/**
 * The token an offer sends to its peer (ShmToken, src/native.ts): the check that a received one is
 * well formed (parseShmToken), and how a connection end names itself after it.
 */
import type { ShmToken } from './native.js';
import { ShmError } from './shm-error.js';

/** "/fp-<8 hex pid>-<24 hex random>", or the older "/fp-<32 hex random>". */
const SHM_NAME = /^\/fp-(?:[0-9a-f]{8}-[0-9a-f]{24}|[0-9a-f]{32})$/;
/** ".../fastpath-shm-<pid>-XXXXXX", or the older ".../fastpath-shm-XXXXXX". */
const DIR_NAME = /^\/.*\/fastpath-shm-(?:[0-9]{1,10}-)?[A-Za-z0-9]{6}$/;
const KEY = /^[0-9a-f]{32}$/;
/** Windows: the two doorbell Events' base name, "fastpath-bell-<8 hex pid>-<24 hex>" (src/win/doorbell-win.cc). */
const WIN_BELL_NAME = /^fastpath-bell-[0-9a-f]{8}-[0-9a-f]{24}$/;

/** Checks that a value received from the peer is a well-formed token. Throws ShmError('EBADTOKEN'). */
export function parseShmToken(value: unknown): ShmToken {
  const t = value as Partial<ShmToken> | null;
  const bad = (what: string): never => {
    throw new ShmError('EBADTOKEN', `invalid shm token: ${what}`);
  };
  if (typeof t !== 'object' || t === null) return bad('not an object');
  if (t.v !== 1) bad(`unsupported version ${String(t.v)}`);
  if (typeof t.shm !== 'string' || !SHM_NAME.test(t.shm)) bad('shm name');
  if (process.platform === 'win32') {
    if (typeof t.dir !== 'string' || !WIN_BELL_NAME.test(t.dir)) bad('dir');
  } else if (typeof t.dir !== 'string' || !DIR_NAME.test(t.dir) || t.dir.includes('/../') || t.dir.includes('/./')) bad('dir');
  if (typeof t.key !== 'string' || !KEY.test(t.key)) bad('key');
  const rb = t.ringBytes;
  if (typeof rb !== 'number' || !Number.isInteger(rb) || rb < 4096 || rb > 2 ** 30 || (rb & (rb - 1)) !== 0) bad('ringBytes');
  return { v: 1, shm: t.shm!, dir: t.dir!, ringBytes: rb!, key: t.key! };
}

/** A connection end's `local` or `remote` name: "shm:<segment name>#<side>". */
export function describeToken(t: ShmToken, side: 0 | 1): string {
  return `shm:${t.shm}#${side}`;
}
