/**
 * The `fastpath` CLI without process globals: `runCli(argv, io)` resolves with the exit code.
 * `main.ts` is the bin that calls it.
 */
import { findCommand, PLANNED, type CliIO } from './commands.js';
import { mainHelp } from './usage.js';
import { CLI_VERSION } from './version.js';

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(mainHelp());
    return 2;
  }
  if (name === '-h' || name === '--help') {
    io.out(mainHelp());
    return 0;
  }
  if (name === '-v' || name === '--version') {
    io.out(`${CLI_VERSION}\n`);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      io.out(mainHelp());
      return 0;
    }
    const c = findCommand(topic);
    if (!c) {
      io.err(`fastpath: no help for unknown command "${topic}"\n\n${mainHelp()}`);
      return 2;
    }
    io.out((await c.load()).help);
    return 0;
  }
  const command = findCommand(name);
  if (!command) {
    io.err(
      PLANNED.includes(name)
        ? `fastpath: "${name}" is not implemented yet\n\n${mainHelp()}`
        : `fastpath: unknown command "${name}"\n\n${mainHelp()}`,
    );
    return 2;
  }
  return (await command.load()).run(rest, io);
}
