/**
 * A real "remote host" for tests: a Linux network namespace joined to this one by a veth pair.
 *
 * ```ts
 * import { createNetns, netnsSupport } from '../test/helpers/netns.js';
 *
 * const support = netnsSupport();            // { ok: true } | { ok: false, reason }
 * if (!support.ok) console.warn(`skipping: ${support.reason}`);
 * describe.skipIf(!support.ok)('remote', () => {
 *   let ns: Netns;
 *   beforeAll(() => { ns = createNetns(); });
 *   afterAll(() => ns?.destroy());
 *   it('...', async () => {
 *     const server = ns.spawnTs('test/fixtures/x.ts', [`tcp://${ns.nsAddress}:0`]);
 *     const { address } = await server.ready; // tcp://10.213.x.y:port, reachable from the host
 *   });
 * });
 * ```
 *
 * - `createNetns()` (synchronous) makes namespace `name` (`fpns<pid>_<n>`), a veth pair
 *   `hostIf` (`fp<pid>h<n>`, in this namespace, address `hostAddress`) / `nsIf` (`fp<pid>n<n>`,
 *   inside, address `nsAddress`) on a private 10.213.0.0/16 /30 that no other live namespace
 *   uses, and brings up `lo` inside. Nothing outside the pair is routed or changed (no sysctl,
 *   no NAT): the namespace can reach only `hostAddress` and its own loopback.
 * - `exec(cmd, args)` runs a command inside (`ip netns exec`), resolving `{ code, stdout, stderr }`
 *   (bounded by `timeoutMs`, default 10 s). `spawn(cmd, args, env)` / `spawnTs(script, args, env)`
 *   start a long-lived child inside, with `test/helpers/spawn.ts`'s `Spawned` interface
 *   (`spawnTs` runs `node -C fastpath-src --import tsx script` from the repo root, as `spawnTs`
 *   there does). `ip netns exec` execs in place, so the child's pid is the program's own.
 * - `linkDown()` / `linkUp()` set the namespace's end of the veth down / up (`ip netns exec
 *   <ns> ip link set <nsIf> down`): packets stop both ways, TCP connections stay open.
 * - `destroy()` kills (SIGKILL) every child spawned through this object and deletes the
 *   namespace (which deletes both veth ends). Synchronous and idempotent.
 *
 * Teardown also happens without a `destroy()` call: on process 'exit' and on SIGINT/SIGTERM/SIGHUP
 * (then the signal is re-raised when nobody else handles it). A process killed with SIGKILL cannot
 * clean up; `createNetns()` (and `sweepStaleNetns()`) first removes namespaces and links named
 * with this prefix whose pid is dead, killing any process still inside.
 *
 * `netnsSupport()` says whether this machine can do it: Linux, root, `ip` present, and a probe
 * namespace + veth pair can be created. Cached per process. With FASTPATH_REQUIRE_NETNS=1 in the
 * environment (CI, which runs as root) it throws instead of answering `ok: false`, so the tests
 * fail rather than skip.
 */
import { execFile, execFileSync, spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot, TS_NODE_ARGS, type Spawned } from './spawn.js';

export type NetnsSupport = { ok: true } | { ok: false; reason: string };

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Netns {
  /** The namespace's name (`ip netns list`). */
  readonly name: string;
  /** The veth end in this (the host's) namespace. */
  readonly hostIf: string;
  /** The veth end inside the namespace. */
  readonly nsIf: string;
  /** IPv4 address of `hostIf`, reachable from inside the namespace. */
  readonly hostAddress: string;
  /** IPv4 address of `nsIf`, reachable from the host. */
  readonly nsAddress: string;
  /** Prefix length of the veth subnet (30). */
  readonly prefixLength: number;
  /** `tcp://<nsAddress>:<port>`. */
  nsUrl(port: number): string;
  /** Runs a command inside the namespace; never rejects for a non-zero exit (see `code`). */
  exec(cmd: string, args?: string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
  /** Starts a long-lived process inside the namespace (killed by `destroy()`). */
  spawn(cmd: string, args?: string[], env?: NodeJS.ProcessEnv): Spawned;
  /** Runs a TypeScript file with `node -C fastpath-src --import tsx` inside the namespace. */
  spawnTs(script: string, args?: string[], env?: NodeJS.ProcessEnv): Spawned;
  /** Sets the namespace's veth end down: packets stop, sockets stay open. */
  linkDown(): Promise<void>;
  /** Sets it up again. */
  linkUp(): Promise<void>;
  /** Kills the children and deletes the namespace and the veth pair. Idempotent. */
  destroy(): void;
  readonly destroyed: boolean;
}

const NS_PREFIX = 'fpns';
const NS_RE = /^fpns(\d+)_(\w+)$/;
const LINK_RE = /^fp(\d+)[hn](\d+)$/;
const SUBNET = [10, 213] as const;

const ipSync = (args: string[], timeout = 10_000): string =>
  execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout });

function ipQuiet(args: string[]): void {
  try {
    ipSync(args);
  } catch {
    /* already gone */
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let support: NetnsSupport | undefined;

/** Whether this machine can create network namespaces and veth pairs (cached). */
export function netnsSupport(): NetnsSupport {
  if (support) return support;
  support = probe();
  // CI that must run these tests sets FASTPATH_REQUIRE_NETNS=1: a machine that cannot is an error there, not a skip.
  if (!support.ok && process.env.FASTPATH_REQUIRE_NETNS === '1') {
    throw new Error(`FASTPATH_REQUIRE_NETNS=1, but network namespaces are not available: ${support.reason}`);
  }
  return support;
}

function probe(): NetnsSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces are Linux-only (platform ${process.platform})` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: `creating a network namespace needs root (uid ${process.getuid?.() ?? '?'})` };
  }
  try {
    ipSync(['-V']);
  } catch (e) {
    return { ok: false, reason: `the "ip" command (iproute2) cannot be run: ${(e as Error).message}` };
  }
  const name = `${NS_PREFIX}${process.pid}_probe`;
  const a = `fp${process.pid}h999`;
  try {
    ipSync(['netns', 'add', name]);
    ipSync(['link', 'add', a, 'type', 'veth', 'peer', 'name', `fp${process.pid}n999`, 'netns', name]);
    return { ok: true };
  } catch (e) {
    const err = e as Error & { stderr?: string };
    return { ok: false, reason: `cannot create a network namespace with a veth pair: ${(err.stderr || err.message).trim()}` };
  } finally {
    ipQuiet(['link', 'del', a]);
    ipQuiet(['netns', 'delete', name]);
  }
}

function killPidsIn(ns: string): void {
  try {
    for (const p of ipSync(['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } catch {
    /* namespace gone */
  }
}

/**
 * Removes namespaces and host-side links of this helper left by processes that died without
 * cleaning up (their pid, in the name, is no longer alive). Returns what it removed.
 */
export function sweepStaleNetns(): string[] {
  const removed: string[] = [];
  let list = '';
  try {
    list = ipSync(['netns', 'list']);
  } catch {
    return removed;
  }
  for (const line of list.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    const m = NS_RE.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    killPidsIn(name);
    ipQuiet(['netns', 'delete', name]);
    removed.push(name);
  }
  let links = '';
  try {
    links = ipSync(['-o', 'link', 'show']);
  } catch {
    return removed;
  }
  for (const line of links.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '';
    const m = LINK_RE.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    ipQuiet(['link', 'del', name]);
    removed.push(name);
  }
  return removed;
}

/** The /30 blocks in 10.213/16 already used by an interface in this namespace. */
function usedBlocks(): Set<number> {
  const used = new Set<number>();
  try {
    const out = ipSync(['-4', '-o', 'addr', 'show']);
    for (const m of out.matchAll(/inet (\d+)\.(\d+)\.(\d+)\.(\d+)\//g)) {
      if (Number(m[1]) === SUBNET[0] && Number(m[2]) === SUBNET[1]) used.add((Number(m[3]) << 6) | (Number(m[4]) >> 2));
    }
  } catch {
    /* none */
  }
  return used;
}

const live = new Set<NetnsImpl>();
let counter = 0;
let handlersInstalled = false;
let swept = false;

function destroyAll(): void {
  for (const ns of [...live]) ns.destroy();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', destroyAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      destroyAll();
      process.removeListener(sig, onSignal);
      // Keep the default behaviour (terminate) when nobody else listens for this signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

class NetnsImpl implements Netns {
  readonly prefixLength = 30;
  destroyed = false;
  private readonly children = new Set<ChildProcess>();

  constructor(
    readonly name: string,
    readonly hostIf: string,
    readonly nsIf: string,
    readonly hostAddress: string,
    readonly nsAddress: string,
  ) {}

  nsUrl(port: number): string {
    return `tcp://${this.nsAddress}:${port}`;
  }

  exec(cmd: string, args: string[] = [], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
    return new Promise((resolve) => {
      execFile(
        'ip',
        ['netns', 'exec', this.name, cmd, ...args],
        { cwd: repoRoot, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 10_000, killSignal: 'SIGKILL', encoding: 'utf8' },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  spawn(cmd: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Spawned {
    if (this.destroyed) throw new Error(`network namespace ${this.name} was destroyed`);
    const spawned = spawnLines('ip', ['netns', 'exec', this.name, cmd, ...args], env);
    this.children.add(spawned.child);
    spawned.child.once('exit', () => this.children.delete(spawned.child));
    return spawned;
  }

  spawnTs(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Spawned {
    return this.spawn(process.execPath, [...TS_NODE_ARGS, script, ...args], env);
  }

  async linkDown(): Promise<void> {
    await this.setLink('down');
  }

  async linkUp(): Promise<void> {
    await this.setLink('up');
  }

  private async setLink(state: 'up' | 'down'): Promise<void> {
    const r = await this.exec('ip', ['link', 'set', this.nsIf, state]);
    if (r.code !== 0) throw new Error(`ip link set ${this.nsIf} ${state} in ${this.name} failed: ${r.stderr.trim()}`);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    killPidsIn(this.name); // anything else started inside (exec children, grandchildren)
    ipQuiet(['netns', 'delete', this.name]); // deleting the namespace deletes both veth ends...
    ipQuiet(['link', 'del', this.hostIf]); // ...unless a process kept it alive a moment longer
  }
}

/** Creates a namespace joined to this one by a veth pair. Throws when `netnsSupport()` is not ok. */
export function createNetns(): Netns {
  const s = netnsSupport();
  if (!s.ok) throw new Error(`network namespaces are not available: ${s.reason}`);
  installHandlers();
  if (!swept) {
    swept = true;
    sweepStaleNetns();
  }
  const n = counter++;
  const name = `${NS_PREFIX}${process.pid}_${n}`;
  const hostIf = `fp${process.pid}h${n}`;
  const nsIf = `fp${process.pid}n${n}`;
  const used = usedBlocks();
  let block = (process.pid * 7 + n * 131) % 16384;
  for (let i = 0; used.has(block) && i < 16384; i++) block = (block + 1) % 16384;
  const base = `${SUBNET[0]}.${SUBNET[1]}.${block >> 6}`;
  const hostAddress = `${base}.${((block & 63) << 2) + 1}`;
  const nsAddress = `${base}.${((block & 63) << 2) + 2}`;
  const ns = new NetnsImpl(name, hostIf, nsIf, hostAddress, nsAddress);
  live.add(ns);
  try {
    ipSync(['netns', 'add', name]);
    ipSync(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name]);
    ipSync(['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    ipSync(['link', 'set', hostIf, 'up']);
    ipSync(['netns', 'exec', name, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf]);
    ipSync(['netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up']);
    ipSync(['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    ns.destroy();
    const err = e as Error & { stderr?: string };
    throw new Error(`creating network namespace ${name} failed: ${(err.stderr || err.message).trim()}`);
  }
  return ns;
}

/** Like `spawnTs` in spawn.ts, for any command: collects stdout lines; `ready` is the first JSON line. */
function spawnLines(command: string, argv: string[], env: NodeJS.ProcessEnv): Spawned {
  const child = spawnChild(command, argv, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let resolveReady!: (v: Record<string, unknown>) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<Record<string, unknown>>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined); // a child that is never awaited must not leave an unhandled rejection
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout.push(line);
    if (line.startsWith('{')) {
      try {
        resolveReady(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not the ready line */
      }
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      rejectReady(new Error(`cannot start ${command}: ${e.message}`));
      resolve(null);
    });
    child.on('exit', (code, signal) => {
      rejectReady(new Error(`child exited (${code ?? signal}) before it was ready: ${stderr.join('\n')}`));
      resolve(code);
    });
  });
  return {
    child,
    ready,
    stdout,
    stderr,
    exited,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
