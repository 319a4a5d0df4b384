/** What the OS says about the process at the other end of a Unix socket. */
export interface PeerCredentials {
  uid: number;
  gid: number;
  pid: number;
}

export type PeerCredentialsReader = (fd: number) => PeerCredentials | null;

let reader: PeerCredentialsReader | undefined;

/**
 * Node cannot read SO_PEERCRED; the native package can, and registers a reader here. Without it,
 * unix sockets rely on file-system permissions alone (the 0700 directory of the uds tier).
 */
export function setPeerCredentialsReader(fn: PeerCredentialsReader | undefined): void {
  reader = fn;
}

/** The peer's credentials for a socket file descriptor, or undefined when they cannot be read. */
export function readPeerCredentials(fd: number | undefined): PeerCredentials | undefined {
  if (reader === undefined || fd === undefined || !(fd >= 0)) return undefined;
  try {
    return reader(fd) ?? undefined;
  } catch {
    return undefined;
  }
}
