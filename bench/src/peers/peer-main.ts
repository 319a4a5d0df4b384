/**
 * The child side of an echo peer. The parent learns where the peer listens from one JSON line on
 * stdout (`{"address": ..., "pid": ...}`, or `{"error": ...}` when it cannot start). The peer
 * exits when its stdin closes (the parent stopped it, or the parent died) or on SIGTERM/SIGINT.
 */
export interface RunningPeer {
  /** Printed on the address line; must include `address`. */
  info: { address: string; [extra: string]: unknown };
  close(): Promise<void>;
}

export async function runPeer(start: () => Promise<RunningPeer>): Promise<void> {
  let peer: RunningPeer;
  try {
    peer = await start();
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err), pid: process.pid })}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${JSON.stringify({ ...peer.info, pid: process.pid })}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // Do not let a peer that will not close keep the process alive.
    setTimeout(() => process.exit(0), 1000).unref();
    peer.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
