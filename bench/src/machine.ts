import os from 'node:os';

/** The machine and the command a run was made with, for the header and the JSON report. */
export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs (os.cpus().length). */
  cores: number;
  /** os.availableParallelism(): what this process may use (cgroup/affinity limits included). */
  availableParallelism: number;
  platform: string;
  release: string;
  arch: string;
  node: string;
  v8: string;
  totalMemoryMiB: number;
  /** 1, 5 and 15-minute load averages when the run started: a busy machine gives noisy numbers. */
  loadAverage: number[];
  /** ISO 8601 start time. */
  date: string;
  /** The exact command line: node, its flags, the script and the arguments. */
  command: string;
  cwd: string;
  /** The npm script that started the run, when it was `npm run ...`. */
  npmScript: string | undefined;
}

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(): string {
  return [process.execPath, ...process.execArgv, ...process.argv.slice(1)].map(shellQuote).join(' ');
}

export function machineInfo(now: Date = new Date()): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    node: process.version,
    v8: process.versions.v8,
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: now.toISOString(),
    command: commandLine(),
    cwd: process.cwd(),
    npmScript: process.env.npm_lifecycle_event !== undefined ? `${process.env.npm_lifecycle_event}: ${process.env.npm_lifecycle_script ?? ''}` : undefined,
  };
}
