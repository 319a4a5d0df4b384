/**
 * Removes what offers of dead servers left behind. A server killed with SIGKILL after it made an
 * offer and before the peer attached (and unlinked the names) leaves its segment in /dev/shm and
 * its doorbell directory: nobody is left to withdraw the offer. Both names carry the creator's pid
 * ("/fp-<8 hex pid>-<24 hex>", "fastpath-shm-<pid>-XXXXXX"), so a later server of the same uid can
 * tell them apart and remove them. Called when the shm tier starts listening (the model is core's
 * uds-tier sweepStaleDirs).
 *
 * Only names of the new form, only objects owned by this uid, only when the pid is dead
 * (`process.kill(pid, 0)` fails with ESRCH: EPERM means alive under another uid). Bounded, best
 * effort, never throws. Old-form names (no pid) are never touched.
 */
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

const SHM_DIR = '/dev/shm';
const SEGMENT = /^fp-([0-9a-f]{8})-[0-9a-f]{24}$/;
const DOORBELL_DIR = /^fastpath-shm-([0-9]{1,10})-[A-Za-z0-9]{6}$/;

export interface SweepResult {
  /** Segments unlinked from /dev/shm. */
  segments: number;
  /** Doorbell directories removed. */
  dirs: number;
}

function dead(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * One bounded pass over /dev/shm and `dirBase` (where offers make their doorbell directories).
 * At most `limit` entries of each kind are removed. Synchronous: it runs once per listen and
 * looks at a handful of directory entries.
 */
export function sweepStaleShm(dirBase: string, limit = 100): SweepResult {
  const res: SweepResult = { segments: 0, dirs: 0 };
  if (process.platform !== 'linux') return res;
  const uid = process.getuid?.();
  if (uid === undefined) return res;
  for (const name of list(SHM_DIR)) {
    if (res.segments >= limit) break;
    const m = SEGMENT.exec(name);
    if (!m || !dead(parseInt(m[1]!, 16))) continue;
    const path = join(SHM_DIR, name);
    try {
      const st = lstatSync(path);
      if (!st.isFile() || st.uid !== uid) continue;
      unlinkSync(path); // what shm_unlink does on Linux
      res.segments++;
    } catch {
      // raced with the peer, another sweeper, or not ours
    }
  }
  for (const name of list(dirBase)) {
    if (res.dirs >= limit) break;
    const m = DOORBELL_DIR.exec(name);
    if (!m || !dead(Number(m[1]))) continue;
    const path = join(dirBase, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || st.uid !== uid) continue;
      // Only the two FIFOs are expected inside; anything else stays (and so does the directory).
      for (const f of ['0', '1']) {
        try {
          const fst = lstatSync(join(path, f));
          if (fst.isFIFO() && fst.uid === uid) unlinkSync(join(path, f));
        } catch {
          // gone already
        }
      }
      rmdirSync(path);
      res.dirs++;
    } catch {
      // not empty, raced, or not ours
    }
  }
  return res;
}
