import { type Code, isCode } from './codes.js';

const kFastpathError = Symbol.for('fastpath.error');
const kProtocolError = Symbol.for('fastpath.error.protocol');

/**
 * Per-code details. Each code documents what its `details` carry (docs/errors.md).
 * Unlisted codes carry whatever the server chose to send, or nothing.
 */
export interface ErrorDetails {
  /** RESOURCE_EXHAUSTED from a frame limit. */
  limit?: number;
  size?: number;
  /** UNIMPLEMENTED: the method that was not found. */
  method?: string;
  /** DEADLINE_EXCEEDED: the budget the call had, in ms. */
  budgetMs?: number;
  /** INVALID_ARGUMENT from a validator. */
  issues?: ReadonlyArray<{ path: string; message: string }>;
  /** FAILED_PRECONDITION from a version mismatch. */
  supported?: readonly number[];
  offered?: readonly unknown[];
  /** Protocol errors: a stable machine-readable reason. */
  reason?: string;
  [key: string]: unknown;
}

export interface FastpathErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
  /** True when the error was created from an ERROR frame sent by the peer. */
  remote?: boolean;
}

/**
 * The one error class of fastpath. `code` is one of the names in codes.ts and is stable.
 * Use `FastpathError.is(err)` rather than `instanceof` across package copies: the check uses a
 * `Symbol.for` brand, so it holds when two copies of @fastpath/core are installed.
 */
export class FastpathError extends Error {
  readonly code: Code;
  readonly details: ErrorDetails | undefined;
  readonly remote: boolean;

  constructor(code: Code, message: string, options: FastpathErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = isCode(code) ? code : 'UNKNOWN';
    this.details = options.details;
    this.remote = options.remote ?? false;
  }

  override get name(): string {
    return 'FastpathError';
  }

  get [kFastpathError](): true {
    return true;
  }

  static is(value: unknown): value is FastpathError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kFastpathError] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return FastpathError.is(value);
  }
}

/**
 * A violation of the wire protocol: a malformed frame, an unknown frame type, a body that does
 * not decode, a frame over the size limit. The frame parser and the codec throw only this.
 * Its code is INTERNAL, or RESOURCE_EXHAUSTED for a frame over `maxFrameBytes`, and
 * `details.reason` names the violation.
 */
export class ProtocolError extends FastpathError {
  constructor(reason: string, message: string, options: FastpathErrorOptions & { code?: Code } = {}) {
    super(options.code ?? 'INTERNAL', message, { ...options, details: { ...options.details, reason } });
  }

  override get name(): string {
    return 'ProtocolError';
  }

  get reason(): string {
    return String(this.details?.reason);
  }

  get [kProtocolError](): true {
    return true;
  }

  static override is(value: unknown): value is ProtocolError {
    return FastpathError.is(value) && (value as unknown as Record<symbol, unknown>)[kProtocolError] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return ProtocolError.is(value);
  }
}

/** Wraps anything thrown into a FastpathError, keeping FastpathErrors as they are. */
export function toFastpathError(err: unknown, fallback: Code = 'UNKNOWN'): FastpathError {
  if (FastpathError.is(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FastpathError(fallback, message, { cause: err });
}
