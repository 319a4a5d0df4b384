// What the operating system says about a process: open descriptors, shared-memory mappings,
// /dev/shm entries, resident memory. Linux /proc only.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function fdList(pid: number | 'self' = 'self'): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of names) {
    try {
      out.push(`${fd} -> ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Lines of /proc/<pid>/maps for fastpath shared-memory segments. */
export function shmMaps(pid: number | 'self' = 'self'): string[] {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8')
      .split('\n')
      .filter((l) => l.includes('/dev/shm/fp-'));
  } catch {
    return [];
  }
}

/** fastpath segments in /dev/shm created by `pid` (their names carry the creator's pid in hex). */
export function shmEntriesOf(pid: number): string[] {
  const prefix = `fp-${pid.toString(16).padStart(8, '0')}-`;
  return readdirSync('/dev/shm').filter((n) => n.startsWith(prefix));
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export const isRoot = process.getuid?.() === 0;
export const MiB = 1024 * 1024;
