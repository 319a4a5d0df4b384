import { COMMANDS, PLANNED } from './commands.js';
import { CLI_VERSION } from './version.js';

/** `fastpath --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const lines = [
    `fastpath ${CLI_VERSION}: typed RPC and pub-sub between Node processes, with a same-host fast path`,
    '',
    'Usage: fastpath <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show help (also: fastpath help <command>, fastpath <command> --help)',
    '  -v, --version  print the version',
    '',
    ...(PLANNED.length > 0 ? [`Not implemented yet: ${PLANNED.join(', ')}.`, ''] : []),
  ];
  return lines.join('\n');
}
