import ts from 'typescript';
import type { Diagnostic, DiagnosticCode } from '../errors.js';

/** Collects diagnostics at nodes, once per (location, message). */
export class Diagnostics {
  readonly list: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  at(node: ts.Node, code: DiagnosticCode, message: string, hint?: string): void {
    const sf = node.getSourceFile();
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    this.add({ code, file: sf.fileName, line: line + 1, column: character + 1, message, hint });
  }

  add(d: Diagnostic): void {
    const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(d);
  }

  /** The compiler's own errors in a contract file: types are unreliable until they are fixed. */
  fromTypeScript(diags: readonly ts.Diagnostic[]): void {
    for (const d of diags) {
      if (d.category !== ts.DiagnosticCategory.Error) continue;
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (d.file && d.start !== undefined) {
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
        this.add({ code: 'typescript', file: d.file.fileName, line: line + 1, column: character + 1, message: `TS${d.code}: ${message}`, hint: 'fix the contract so that it compiles' });
      } else {
        this.add({ code: 'typescript', file: '<compiler>', line: 1, column: 1, message: `TS${d.code}: ${message}`, hint: undefined });
      }
    }
  }
}
