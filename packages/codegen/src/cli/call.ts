/**
 * `fastpath call <address> <Service.method> ['<json>'] [options]`: one unary call to a running
 * server from the shell, for debugging. The request is JSON (mapped by json-mapping.ts: bytes,
 * bigint, dates); the result is printed as JSON on stdout. A failed call prints the error's code,
 * message and details as one JSON object on stderr. docs/cli.md describes it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliIO, Command } from './commands.js';
import { parsePayload, toJson } from './json-mapping.js';

export const CALL_HELP = `Usage: fastpath call <address> <Service.method> ['<json payload>'] [options]

Makes one unary call to a running fastpath server and prints the result as JSON on stdout.
The address is what the server listens on: tcp://host:port, tcp://[::1]:port, unix:/path.
Without a payload the call has no request; '-' reads the payload from stdin.

JSON has no bytes, 64-bit integers or dates; write them (and read them in results) as
  {"$bytes": "<base64>"}   {"$bigint": "12345678901234567890"}   {"$date": "2026-01-02T03:04:05Z"}
and NaN / Infinity / -Infinity as {"$number": "NaN"}.

Options:
  --deadline <ms>         budget of the call (default 10000)
  --metadata <key=value>  call metadata (repeatable)
  --fast-path <mode>      auto (default), off or require: the same-host fast path of the connection
  --compact               print the result on one line
  --verbose               also print the tier the connection took, and the call's time, on stderr
  -h, --help              this text

A failed call prints {"code", "message", "details"} on stderr.
Exit codes: 0 done, 1 the call failed (or no connection), 2 usage or a bad payload.
`;

/** The exit codes of `fastpath call`. */
export const CALL_EXIT = { ok: 0, callFailed: 1, usage: 2 } as const;

interface CallArgs {
  address: string;
  method: string;
  payload: string | undefined;
  deadline: number;
  metadata: Record<string, string>;
  fastPath: 'auto' | 'off' | 'require';
  compact: boolean;
  verbose: boolean;
}

class UsageError extends Error {}

const METHOD = /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$/;

function parse(args: string[]): CallArgs | 'help' {
  let values: { deadline?: string; metadata?: string[]; 'fast-path'?: string; compact?: boolean; verbose?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        deadline: { type: 'string' },
        metadata: { type: 'string', multiple: true },
        'fast-path': { type: 'string' },
        compact: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (positionals.length < 2) throw new UsageError('needs an address and a method');
  if (positionals.length > 3) throw new UsageError(`too many arguments: quote the JSON payload as one argument (got ${positionals.length - 2} after the method)`);
  const [address, method, payload] = positionals as [string, string, string | undefined];
  if (!METHOD.test(method)) throw new UsageError(`the method must look like Service.method, got "${method}"`);
  let deadline = 10_000;
  if (values.deadline !== undefined) {
    deadline = Number(values.deadline);
    if (!/^\d+(\.\d+)?$/.test(values.deadline) || !(deadline > 0)) throw new UsageError(`--deadline expects a positive number of ms, got "${values.deadline}"`);
  }
  const metadata: Record<string, string> = {};
  for (const kv of values.metadata ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata expects key=value, got "${kv}"`);
    Object.defineProperty(metadata, kv.slice(0, eq), { value: kv.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  const fastPath = values['fast-path'] ?? 'auto';
  if (fastPath !== 'auto' && fastPath !== 'off' && fastPath !== 'require') throw new UsageError(`--fast-path must be auto, off or require, got "${fastPath}"`);
  return { address, method, payload, deadline, metadata, fastPath, compact: values.compact ?? false, verbose: values.verbose ?? false };
}

/** An error as the JSON object printed on stderr. */
function errorJson(err: unknown): { code: string; message: string; details?: unknown } {
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' && typeof (err as { message?: unknown }).message === 'string') {
    const e = err as { code: string; message: string; details?: unknown };
    return { code: e.code, message: e.message, ...(e.details !== undefined ? { details: toJson(e.details) } : {}) };
  }
  return { code: 'UNKNOWN', message: err instanceof Error ? err.message : String(err) };
}

export const callCommand: Command = {
  name: 'call',
  help: CALL_HELP,
  async run(args: string[], io: CliIO): Promise<number> {
    let a: CallArgs | 'help';
    try {
      a = parse(args);
    } catch (err) {
      io.err(`fastpath call: ${(err as Error).message}\n\n${CALL_HELP}`);
      return CALL_EXIT.usage;
    }
    if (a === 'help') {
      io.out(CALL_HELP);
      return CALL_EXIT.ok;
    }
    let request: unknown;
    if (a.payload !== undefined) {
      try {
        request = parsePayload(a.payload === '-' ? readFileSync(0, 'utf8') : a.payload);
      } catch (err) {
        const reason = err instanceof SyntaxError ? 'bad-json' : 'bad-json-mapping';
        const message = err instanceof SyntaxError ? `the payload is not valid JSON: ${err.message}` : `the payload cannot be mapped: ${(err as Error).message}`;
        io.err(`${JSON.stringify({ code: 'INVALID_ARGUMENT', message, details: { reason } })}\n`);
        return CALL_EXIT.usage;
      }
    }
    // Loaded here, so that `fastpath call --help` and usage errors do not load core.
    const { connect } = await import('@fastpath/core');
    let client: Awaited<ReturnType<typeof connect>> | undefined;
    try {
      client = await connect(a.address, { fastPath: a.fastPath, connectTimeoutMs: Math.min(a.deadline, 10_000) });
      if (a.verbose) io.err(`connected to ${a.address}: tier ${client.pathInfo.path}${client.pathInfo.reason ? ` (${client.pathInfo.reason})` : ''}\n`);
      const started = process.hrtime.bigint();
      const result = await client.call(a.method, request, { deadline: a.deadline, metadata: a.metadata });
      if (a.verbose) io.err(`${a.method} answered in ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(3)} ms\n`);
      io.out(`${JSON.stringify(toJson(result), null, a.compact ? undefined : 2)}\n`);
      return CALL_EXIT.ok;
    } catch (err) {
      io.err(`${JSON.stringify(errorJson(err))}\n`);
      return CALL_EXIT.callFailed;
    } finally {
      await client?.close().catch(() => {});
    }
  },
};
