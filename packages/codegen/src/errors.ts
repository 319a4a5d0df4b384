/** Codegen diagnostics: every problem carries `file:line:col`, a stable code and a hint. */

export type DiagnosticCode =
  | 'typescript' // the contract does not compile
  | 'no-service' // a file declares no service interface
  | 'not-exported' // a service interface the output must import is not exported
  | 'any' // any
  | 'unknown' // unknown, never, object, {} used as a value
  | 'function' // a function-typed value
  | 'class' // a class instance type, or a type with methods
  | 'generic' // a type parameter that cannot be resolved, or a generic method
  | 'unsupported' // another type the wire cannot carry (symbol, Map, Promise, template literals...)
  | 'ambiguous-union' // union members a validator cannot tell apart
  | 'stream-position' // Stream<T> or Topic<T> somewhere other than a method's parameter/return or a service property
  | 'method-shape' // more than one parameter, overloads, a data property on a service
  | 'reserved-name' // a key like __proto__
  | 'undefined-element' // undefined inside an array or tuple (MessagePack turns it into null)
  | 'duplicate' // two services with one name, or two methods with one id
  | 'bad-tag'; // a malformed @id tag

export interface Diagnostic {
  code: DiagnosticCode;
  /** Absolute path. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
  hint: string | undefined;
}

/** `file:line:col - error [code]: message` and the hint on the next line; `file` relative to `cwd`. */
export function formatDiagnostic(d: Diagnostic, relativeTo: (file: string) => string = (f) => f): string {
  const head = `${relativeTo(d.file)}:${d.line}:${d.column} - error [${d.code}]: ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/** Thrown by `generate()` when the contract has problems; `diagnostics` lists every one, in source order. */
export class CodegenError extends Error {
  override readonly name = 'CodegenError';
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    relativeTo?: (file: string) => string,
  ) {
    super(`fastpath gen: ${diagnostics.length} error(s)\n${diagnostics.map((d) => formatDiagnostic(d, relativeTo)).join('\n')}`);
  }
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.message < b.message ? -1 : 1)));
}
