import type { StandardSchemaV1 } from '@standard-schema/spec';
import { FastpathError } from '../protocol/errors.js';

export type { StandardSchemaV1 };

/** A validator: any Standard Schema (zod, valibot, arktype, typebox via adapter...) or a plain function. */
export type Validator<T = unknown> = StandardSchemaV1<unknown, T> | ((value: unknown) => T);

function formatPath(path: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment> | undefined): string {
  if (!path || path.length === 0) return '';
  let out = '';
  for (const seg of path) {
    const key = typeof seg === 'object' && seg !== null ? seg.key : seg;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out.length === 0 ? String(key) : `.${String(key)}`;
  }
  return out;
}

function issuesError(what: string, issues: ReadonlyArray<StandardSchemaV1.Issue>): FastpathError {
  const list = issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  const text = list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new FastpathError('INVALID_ARGUMENT', `${what}: ${text}`, { details: { reason: 'validation', issues: list } });
}

/**
 * Runs a validator. Returns the (possibly transformed) value, or a promise of it for async
 * schemas. Failures become FastpathError(INVALID_ARGUMENT) with every issue's path and message.
 */
export function runValidator<T>(validator: Validator<T>, value: unknown, what: string): T | Promise<T> {
  if (typeof validator === 'function') {
    try {
      return validator(value);
    } catch (err) {
      if (FastpathError.is(err)) throw err;
      throw new FastpathError('INVALID_ARGUMENT', `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { reason: 'validation' } });
    }
  }
  const result = validator['~standard'].validate(value);
  if (result instanceof Promise) {
    return result.then((r) => {
      if (r.issues) throw issuesError(what, r.issues);
      return r.value;
    });
  }
  if (result.issues) throw issuesError(what, result.issues);
  return result.value;
}
