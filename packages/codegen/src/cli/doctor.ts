/**
 * `fastpath doctor`: what the same-host fast path can do in this process, and why not.
 *
 * It reports what core itself would decide when it builds a HELLO or starts a server: core's
 * `localTiers()` (api/fast-path.ts) is internal, so the same walk over `TIER_ORDER` is done here
 * with the exported registry (`loadNative()`, `upgradeTiers()`, `getUpgradeTier()`, and each
 * tier's `unavailableReason()`). Keep the reason strings in step with localTiers().
 */
import { accessSync, constants, statfsSync, statSync } from 'node:fs';
import { arch, availableParallelism, loadavg, platform, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { connect, currentUid, getUpgradeTier, hostIdentity, loadNative, Server, TIER_ORDER, upgradeTiers, type NativeStatus } from '@fastpath/core';
import type { CliIO, Command } from './commands.js';
import { CLI_VERSION } from './version.js';

type NativePackage = typeof import('@fastpath/native');

export interface TierReport {
  tier: string;
  available: boolean;
  /** Why not, when unavailable; a note otherwise. */
  reason?: string;
  /** The package that provides it. */
  provider: string;
}

export interface ShmSettingsReport {
  /** Whether @fastpath/native's JavaScript could be imported (the addon itself is `native.loaded`). */
  package: { loaded: boolean; reason?: string };
  /** SHM_DEFAULTS, when the package loaded. */
  defaults?: Record<string, unknown>;
  /** What `--shm` asked for (empty: the defaults). */
  requested: Record<string, unknown>;
  /** resolveShmOptions(requested): the settings a connection would use here. */
  effective?: Record<string, unknown>;
  /** resolveShmOptions refused the requested options. */
  error?: string;
  /** Where the doorbell directories go ($XDG_RUNTIME_DIR when usable, else the tmpdir). */
  dirBase: string;
  devShm: { path: string; exists: boolean; writable: boolean; freeBytes?: number };
  notes: string[];
}

export interface ProbeReport {
  ok: boolean;
  /** The tier the loopback connection took, and why not faster. */
  path?: string;
  reason?: string;
  serverPath?: string;
  serverReason?: string;
  /** Round trip of one call after the upgrade, in µs. */
  rttMicros?: number;
  error?: string;
}

export interface DoctorReport {
  fastpath: string;
  node: string;
  platform: string;
  arch: string;
  cpus: { availableParallelism: number; loadavg: number[] };
  native: NativeStatus & { path?: string };
  host: { id: string; source: string };
  uid: number;
  /** Tiers registered with core, fastest first. */
  registered: string[];
  /** Every tier, fastest first; `tcp` is the one every connection starts on. */
  tiers: TierReport[];
  shm: ShmSettingsReport;
  probe?: ProbeReport;
  /** Windows: what SIO_LOOPBACK_FAST_PATH and the WSAID_MULTIPLE_RIO lookup answered here. */
  windows?: { fastPath: unknown; rio: unknown } | { error: string };
}

const PROVIDER: Record<string, string> = {
  shm: '@fastpath/native',
  'tcp-fastpath': '@fastpath/native (Windows)',
  uds: '@fastpath/core',
  tcp: '@fastpath/core',
};

async function importNative(): Promise<{ mod?: NativePackage; reason?: string }> {
  try {
    return { mod: await import('@fastpath/native') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { reason: code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? '@fastpath/native is not installed' : `@fastpath/native failed to load: ${(err as Error).message}` };
  }
}

/** The same decisions as core's localTiers(), with a reason for every tier that is not usable. */
function tierReports(native: NativeStatus): TierReport[] {
  const out: TierReport[] = [];
  for (const tier of TIER_ORDER) {
    const provider = PROVIDER[tier] ?? 'unknown';
    const impl = getUpgradeTier(tier);
    if (!impl) {
      let reason: string;
      if (tier === 'shm') reason = `native addon unavailable: ${native.reason ?? 'no shm tier registered'}`;
      else if (tier === 'tcp-fastpath') {
        reason = process.platform === 'win32' ? `native addon unavailable: ${native.reason ?? 'not registered'}` : `Windows only (SIO_LOOPBACK_FAST_PATH); not used on ${process.platform}`;
      } else reason = 'no implementation registered';
      out.push({ tier, available: false, reason, provider });
      continue;
    }
    const why = impl.unavailableReason();
    out.push(why ? { tier, available: false, reason: why, provider } : { tier, available: true, provider });
  }
  out.push({ tier: 'tcp', available: true, reason: 'always: every connection starts on the address it was given (tcp://, or unix: for the uds tier)', provider: PROVIDER.tcp! });
  return out;
}

/** native's defaultDirBase(), which is not exported: $XDG_RUNTIME_DIR if it is an absolute directory we own. */
function doorbellDirBase(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && xdg.startsWith('/')) {
    try {
      const st = statSync(xdg);
      if (st.isDirectory() && st.uid === process.getuid?.()) return xdg;
    } catch {
      // unusable: fall through
    }
  }
  return tmpdir();
}

function devShmReport(): ShmSettingsReport['devShm'] {
  const path = '/dev/shm';
  const r: ShmSettingsReport['devShm'] = { path, exists: false, writable: false };
  try {
    r.exists = statSync(path).isDirectory();
    accessSync(path, constants.W_OK);
    r.writable = true;
    const fs = statfsSync(path);
    r.freeBytes = fs.bavail * fs.bsize;
  } catch {
    // reported as not existing / not writable
  }
  return r;
}

function shmReport(mod: NativePackage | undefined, importReason: string | undefined, requested: Record<string, unknown>, env: NodeJS.ProcessEnv): ShmSettingsReport {
  const cpus = availableParallelism();
  const notes: string[] = [];
  const report: ShmSettingsReport = {
    package: mod ? { loaded: true } : { loaded: false, reason: importReason ?? 'unknown reason' },
    requested,
    dirBase: doorbellDirBase(env),
    devShm: process.platform === 'linux' ? devShmReport() : { path: '/dev/shm', exists: false, writable: false },
    notes,
  };
  if (mod) {
    report.defaults = { ...mod.SHM_DEFAULTS };
    try {
      report.effective = { ...mod.resolveShmOptions(requested) };
    } catch (err) {
      report.error = (err as Error).message;
    }
  }
  const eff = report.effective as { mode?: string; requestedMode?: string } | undefined;
  notes.push(`adaptive falls back to worker when os.availableParallelism() < 2 (here: ${cpus})`);
  if (eff && eff.mode !== eff.requestedMode) notes.push(`requested mode ${eff.requestedMode} resolves to ${eff.mode} on this machine`);
  const load1 = loadavg()[0] ?? 0;
  if (load1 >= cpus) notes.push(`the 1-minute load (${load1.toFixed(2)}) is at or above the CPU count: polling (inline, adaptive) competes with other work`);
  notes.push('each end of a connection picks its own mode; inline burns a core per polling process by design');
  if (report.devShm.exists && !report.devShm.writable) notes.push('/dev/shm is not writable: creating shm segments will fail');
  return report;
}

/** Negotiates one loopback connection in this process and reports the tier it took. */
async function probe(shm: Record<string, unknown>): Promise<ProbeReport> {
  const server = new Server({ listen: 'tcp://127.0.0.1:0', shm });
  server.handle('Doctor.ping', (n: unknown) => n);
  try {
    await server.start();
    const client = await connect(server.address, { shm, connectTimeoutMs: 5000 });
    try {
      await client.call('Doctor.ping', 0);
      const t0 = process.hrtime.bigint();
      const n = 200;
      for (let i = 0; i < n; i++) await client.call('Doctor.ping', i);
      const rttMicros = Math.round(Number(process.hrtime.bigint() - t0) / n / 10) / 100;
      const conn = server.connections()[0];
      return {
        ok: true,
        path: client.pathInfo.path,
        ...(client.pathInfo.reason ? { reason: client.pathInfo.reason } : {}),
        ...(conn ? { serverPath: conn.path } : {}),
        ...(conn?.reason ? { serverReason: conn.reason } : {}),
        rttMicros,
      };
    } finally {
      await client.close();
    }
  } catch (err) {
    return { ok: false, error: `${(err as { code?: string }).code ? `${(err as { code: string }).code}: ` : ''}${(err as Error).message}` };
  } finally {
    await server.close({ graceMs: 100 });
  }
}

export async function collectDoctorReport(options: { shm?: Record<string, unknown>; probe?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const native = await loadNative();
  const imported = await importNative();
  let id: DoctorReport['host'];
  try {
    id = hostIdentity();
  } catch (err) {
    id = { id: 'unknown', source: `error: ${(err as Error).message}` };
  }
  const nativePath = imported.mod?.nativeStatus.path;
  const report: DoctorReport = {
    fastpath: CLI_VERSION,
    node: process.version,
    platform: platform(),
    arch: arch(),
    cpus: { availableParallelism: availableParallelism(), loadavg: loadavg().map((l) => Math.round(l * 100) / 100) },
    native: { ...native, ...(nativePath ? { path: nativePath } : {}) },
    host: { id: id.id, source: id.source },
    uid: currentUid(),
    registered: upgradeTiers().map((t) => t.tier),
    tiers: tierReports(native),
    shm: shmReport(imported.mod, imported.reason, options.shm ?? {}, env),
  };
  if (platform() === 'win32' && imported.mod) {
    try {
      const p = imported.mod.probeLoopbackFastPath();
      report.windows = p ?? { error: 'not probed: the addon has no Windows sockets' };
    } catch (err) {
      report.windows = { error: (err as Error).message };
    }
  }
  if (options.probe) report.probe = await probe(options.shm ?? {});
  return report;
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

const KNOB_HELP: Record<string, string> = {
  mode: 'inline | worker | adaptive',
  requestedMode: 'before the one-core fallback',
  spinMicros: 'adaptive polling window after the last traffic, µs',
  batchMax: 'most chunks handed to JS per callback',
  ringBytes: 'per direction; 2 x ringBytes + 4 KiB per connection',
  slotBytes: 'largest chunk handed to JS (the "large MTU")',
  attachTimeoutMs: 'server side: an offer nobody attaches to is withdrawn after this, ms',
  spin: 'opt-in synchronous spin for the reply after each write, { budgetMicros, allowMainThread? } (off by default)',
};

/** A knob's value for the text report: sizes with units, the spin object spelled out, 'off' when absent. */
function showKnob(k: string, v: unknown): string {
  if (typeof v === 'number' && (k === 'ringBytes' || k === 'slotBytes')) return `${v} (${fmtBytes(v)})`;
  if (k === 'spin') {
    if (v === undefined || v === null) return 'off';
    if (typeof v === 'object') {
      const o = v as { budgetMicros?: unknown; allowMainThread?: unknown };
      return `${String(o.budgetMicros)} µs budget${o.allowMainThread === true ? ', main thread allowed' : ''}`;
    }
  }
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/** The human-readable report. */
export function formatDoctorReport(r: DoctorReport): string {
  const L: string[] = [];
  const row = (k: string, v: string): void => {
    L.push(`${k.padEnd(15)}${v}`);
  };
  L.push(`fastpath doctor: fastpath ${r.fastpath}, Node ${r.node}, ${r.platform} ${r.arch}`, '');
  if (r.native.loaded) {
    row('native addon', `loaded${r.native.path ? ` (${r.native.path})` : ''}`);
    row('', `tiers registered: ${(r.native.tiers ?? []).join(', ') || 'none'}`);
  } else {
    row('native addon', `not loaded: ${r.native.reason ?? 'unknown reason'}`);
  }
  row('host identity', `${r.host.id} (${r.host.source})`);
  row('uid', String(r.uid));
  row('cpus', `${r.cpus.availableParallelism} (os.availableParallelism()), load ${r.cpus.loadavg.join(' ')}`);
  L.push('', 'Tiers, fastest first:');
  const w = Math.max(...r.tiers.map((t) => t.tier.length)) + 2;
  for (const t of r.tiers) {
    L.push(`  ${t.tier.padEnd(w)}${(t.available ? 'available' : 'unavailable').padEnd(13)}${t.available ? t.provider : t.reason ?? ''}`);
    if (t.available && t.reason) L.push(`  ${''.padEnd(w + 13)}${t.reason}`);
  }
  L.push('', 'Shared-memory (shm) settings:');
  if (!r.shm.package.loaded) {
    L.push(`  @fastpath/native could not be imported: ${r.shm.package.reason ?? 'unknown reason'}`);
  } else {
    if (!r.native.loaded) L.push('  (the shm tier is unavailable here; these are the settings it would use)');
    if (r.shm.error) L.push(`  the requested settings are invalid: ${r.shm.error}`);
    const eff = r.shm.effective ?? {};
    const defs = r.shm.defaults ?? {};
    // `spin` is absent from the options unless asked for: show it as 'off' then.
    const keys = [...new Set([...Object.keys(eff), ...Object.keys(defs), 'spin'])];
    for (const k of keys) {
      const v = k in eff ? eff[k] : k in r.shm.requested ? r.shm.requested[k] : defs[k];
      const shown = showKnob(k, v);
      const note = k in defs && v !== defs[k] ? `default ${String(defs[k])}` : '';
      L.push(`  ${k.padEnd(17)}${shown.padEnd(20)}${[KNOB_HELP[k], note].filter(Boolean).join('; ')}`);
    }
  }
  if (r.platform === 'win32') {
    L.push(`  ${'segments'.padEnd(17)}file mappings Local\\fastpath/fp-<pid>-<random>, owner and DACL: this user only`);
    L.push(`  ${'doorbells'.padEnd(17)}events Local\\fastpath-bell-<pid>-<random>-0/-1, same DACL`);
  } else {
    L.push(`  ${'doorbell dirs'.padEnd(17)}${r.shm.dirBase}/fastpath-shm-<pid>-XXXXXX`);
    const d = r.shm.devShm;
    L.push(`  ${'/dev/shm'.padEnd(17)}${d.exists ? `${d.writable ? 'writable' : 'NOT writable'}${d.freeBytes !== undefined ? `, ${fmtBytes(d.freeBytes)} free` : ''}` : 'missing'}`);
  }
  for (const n of r.shm.notes) L.push(`  note: ${n}`);
  if (r.windows) {
    L.push('', 'Windows loopback (a throw-away socket):');
    if ('error' in r.windows) L.push(`  ${r.windows.error}`);
    else {
      const show = (x: unknown): string => {
        const v = x as { enabled?: boolean; code?: string; error?: number };
        return v.enabled ? 'yes' : `no (${v.code ?? 'error'} ${v.error ?? ''})`.replace(' )', ')');
      };
      L.push(`  ${'SIO_LOOPBACK_FAST_PATH'.padEnd(24)}${show(r.windows.fastPath)}`);
      L.push(`  ${'RIO function table'.padEnd(24)}${show(r.windows.rio)}; the data path uses IOCP either way (docs/windows.md)`);
    }
  }
  if (r.probe) {
    L.push('', 'Loopback probe (a server and a client in this process):');
    if (r.probe.ok) {
      L.push(`  client path  ${r.probe.path}${r.probe.reason ? ` (${r.probe.reason})` : ''}`);
      L.push(`  server path  ${r.probe.serverPath ?? '?'}${r.probe.serverReason ? ` (${r.probe.serverReason})` : ''}`);
      L.push(`  call RTT     ${r.probe.rttMicros} µs (mean of 200, same process: both ends share one event loop)`);
    } else {
      L.push(`  failed: ${r.probe.error}`);
    }
  }
  L.push('');
  return L.join('\n');
}

export const DOCTOR_HELP = `Usage: fastpath doctor [options]

Prints what the same-host fast path can do here: whether the native addon loaded (or why not),
the host identity and uid sent in HELLO, which tiers are available and why the others are not,
and the effective shared-memory mode settings.

Options:
  --json          print the report as JSON
  --shm <json>    resolve these shm options instead of the defaults,
                  e.g. --shm '{"mode":"adaptive","spinMicros":100}'
                  or  --shm '{"spin":{"budgetMicros":50,"allowMainThread":true}}'
  --probe         also negotiate a loopback connection in this process and report its tier
  -h, --help      show this help

Environment:
  FASTPATH_NATIVE=0  disables the native addon (the shm tier); so do false and off
`;

export const doctorCommand: Command = {
  name: 'doctor',
  help: DOCTOR_HELP,
  async run(args: string[], io: CliIO): Promise<number> {
    let values: { json?: boolean; shm?: string; probe?: boolean; help?: boolean };
    try {
      ({ values } = parseArgs({
        args,
        options: { json: { type: 'boolean' }, shm: { type: 'string' }, probe: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      io.err(`fastpath doctor: ${(err as Error).message}\n\n${DOCTOR_HELP}`);
      return 2;
    }
    if (values.help) {
      io.out(DOCTOR_HELP);
      return 0;
    }
    let shm: Record<string, unknown> = {};
    if (values.shm !== undefined) {
      try {
        const parsed: unknown = JSON.parse(values.shm);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
        shm = parsed as Record<string, unknown>;
      } catch (err) {
        io.err(`fastpath doctor: --shm: ${(err as Error).message}\n`);
        return 2;
      }
    }
    const report = await collectDoctorReport({ shm, probe: values.probe === true, env: io.env });
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    return report.probe && !report.probe.ok ? 1 : 0;
  },
};
