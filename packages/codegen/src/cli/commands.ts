/**
 * The `fastpath` CLI's command table. Each command is one module exporting a `Command`, loaded
 * only when it runs (so `doctor` never loads what `gen` will need, such as the TypeScript
 * compiler). `main.ts` only parses the command name and dispatches. A new command joins by
 * adding a module and one entry in `COMMANDS`.
 */

/** Where a command writes. Tests pass their own; the bin passes process.stdout/stderr. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  /** The full help text, for `fastpath <name> --help` and `fastpath help <name>`. */
  help: string;
  /** Runs the command with the arguments after its name. Resolves with the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

export interface CommandEntry {
  name: string;
  /** One line, for `fastpath --help`. */
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'gen',
    summary: 'generate typed stubs and validators from TypeScript service contracts',
    load: async () => {
      const { runGen, genHelp } = await import('../run-gen.js');
      return { name: 'gen', help: genHelp, run: (args, io) => runGen(args, io) };
    },
  },
  {
    name: 'doctor',
    summary: 'show the native addon, host identity, available tiers and shm settings',
    load: async () => (await import('./doctor.js')).doctorCommand,
  },
  {
    name: 'call',
    summary: 'make one call to a running server: JSON request in, JSON result out',
    load: async () => (await import('./call.js')).callCommand,
  },
  {
    name: 'bench',
    summary: 'run the benchmark (from a repository checkout; options passed through)',
    load: async () => (await import('./bench.js')).benchCommand,
  },
];

/** Commands the CLI will have but does not yet. */
export const PLANNED: readonly string[] = [];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}
