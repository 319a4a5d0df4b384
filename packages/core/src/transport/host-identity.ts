import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { hostname, platform } from 'node:os';

export interface HostIdentity {
  /** A hash: equal for two processes only when they share a kernel boot and a network namespace. */
  id: string;
  /** Where it came from. */
  source: string;
}

let cached: HostIdentity | undefined;

function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Windows: HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid through reg.exe (once per process;
 * the native package reads the registry directly and sets the same material).
 */
function windowsMachineGuid(): string | undefined {
  try {
    const out = execFileSync('reg', ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid', '/reg:64'], {
      encoding: 'utf8',
      timeout: 5000,
      windowsHide: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /MachineGuid\s+REG_SZ\s+([0-9A-Fa-f-]{36})/.exec(out)?.[1]?.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The host identity sent in HELLO. On Linux: the kernel's boot_id plus the inode of this
 * process's network namespace, so a peer in another namespace (a container, a `ip netns`) is
 * remote even on the same machine. On Windows: the machine GUID. Elsewhere: /etc/machine-id or the host name, plus the OS.
 * A native package may provide a better source (the Windows machine GUID) through
 * `setHostIdentitySource`.
 */
export function hostIdentity(): HostIdentity {
  if (cached) return cached;
  let material: string;
  let source: string;
  const bootId = platform() === 'linux' ? tryRead('/proc/sys/kernel/random/boot_id') : undefined;
  let netns: number | undefined;
  try {
    netns = platform() === 'linux' ? statSync('/proc/self/ns/net').ino : undefined;
  } catch {
    netns = undefined;
  }
  const guid = platform() === 'win32' ? windowsMachineGuid() : undefined;
  if (bootId && netns !== undefined) {
    material = `linux|${bootId}|netns:${netns}`;
    source = 'linux boot_id + network namespace inode';
  } else if (guid) {
    material = `win32|${guid}`;
    source = 'windows machine GUID';
  } else {
    const machineId = tryRead('/etc/machine-id');
    material = `${platform()}|${machineId ?? hostname()}`;
    source = machineId ? 'machine-id' : 'hostname';
  }
  cached = { id: createHash('sha256').update(material).digest('hex').slice(0, 32), source };
  return cached;
}

/** Replaces the identity source (used by the native package on platforms core cannot read). */
export function setHostIdentitySource(material: string, source: string): void {
  cached = { id: createHash('sha256').update(material).digest('hex').slice(0, 32), source };
}

/** The uid of this process, or -1 where the OS has none. */
export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}
