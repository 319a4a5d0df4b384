/**
 * Finds the service interfaces of contract files and reads their methods and topics.
 *
 * A service is an interface with at least one method (or function-typed property) or `Topic<T>`
 * property that no type in the contract files uses (a type used as data is read where it is
 * used, and its methods are errors there). `services` names them explicitly instead.
 */
import ts from 'typescript';
import type { ContractModel, MethodKind, MethodModel, ServiceModel, Shape, TopicModel } from '../model.js';
import type { Diagnostics } from './diagnose.js';
import { pascal, TypeReader, type Site } from './read-type.js';

export interface ReadOptions {
  /** Only these services (by name); default every service found. */
  services?: readonly string[];
}

function docOf(sym: ts.Symbol, checker: ts.TypeChecker): string | undefined {
  const text = ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
  return text || undefined;
}

function isExported(node: ts.InterfaceDeclaration): boolean {
  return node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
}

/** Symbols that a type reference in the files names: interfaces used as data are not services. */
function referencedSymbols(program: ts.Program, files: readonly string[]): Set<ts.Symbol> {
  const checker = program.getTypeChecker();
  const out = new Set<ts.Symbol>();
  const visit = (node: ts.Node): void => {
    if (ts.isTypeReferenceNode(node)) {
      let sym = checker.getSymbolAtLocation(node.typeName);
      if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      if (sym) out.add(sym);
    }
    ts.forEachChild(node, visit);
  };
  for (const f of files) {
    const sf = program.getSourceFile(f);
    if (sf) visit(sf);
  }
  return out;
}

export function readServices(program: ts.Program, files: readonly string[], diags: Diagnostics, options: ReadOptions = {}): ContractModel {
  const checker = program.getTypeChecker();
  const reader = new TypeReader(checker, program, diags);
  const usedAsData = referencedSymbols(program, files);
  const services: ServiceModel[] = [];
  const seenSymbols = new Set<ts.Symbol>();
  for (const file of files) {
    const sf = program.getSourceFile(file);
    if (!sf) continue;
    let found = 0;
    for (const stmt of sf.statements) {
      if (!ts.isInterfaceDeclaration(stmt)) continue;
      const sym = checker.getSymbolAtLocation(stmt.name);
      if (!sym || seenSymbols.has(sym)) continue;
      seenSymbols.add(sym);
      const type = checker.getDeclaredTypeOfSymbol(sym);
      const props = checker.getPropertiesOfType(type);
      const isMember = (p: ts.Symbol): boolean => {
        const t = checker.getTypeOfSymbol(p);
        return !!(p.flags & ts.SymbolFlags.Method) || checker.getSignaturesOfType(t, ts.SignatureKind.Call).length > 0 || reader.marker(t, 'Topic') !== undefined;
      };
      const name = stmt.name.text;
      if (options.services ? !options.services.includes(name) : !props.some(isMember) || usedAsData.has(sym)) continue;
      found++;
      if (!props.some(isMember)) {
        diags.at(stmt.name, 'no-service', `${name} has no methods or Topic<T> properties`, 'a service declares methods (calls) and Topic<T> properties (pub-sub)');
        continue;
      }
      if (!isExported(stmt)) {
        diags.at(stmt.name, 'not-exported', `service ${name} is not exported: the generated code imports its type`, `write export interface ${name}`);
        continue;
      }
      if (stmt.typeParameters?.length) {
        diags.at(stmt.name, 'generic', `service ${name} is generic`, 'a contract needs concrete types: declare the service without type parameters');
        continue;
      }
      services.push(readService(reader, name, sym, props, file));
    }
    if (found === 0 && !options.services) {
      diags.add({ code: 'no-service', file, line: 1, column: 1, message: 'no service interface found', hint: 'export an interface with methods, e.g. export interface Greeter { hello(req: { name: string }): { greeting: string } }' });
    }
  }
  const byName = new Map<string, ServiceModel>();
  for (const s of services) {
    const prior = byName.get(s.name);
    if (prior) diags.add({ code: 'duplicate', file: s.file, line: 1, column: 1, message: `service ${s.name} is declared in ${prior.file} too`, hint: 'service names are wire names: rename one' });
    byName.set(s.name, s);
  }
  return { services, decls: reader.decls };
}

function readService(reader: TypeReader, name: string, sym: ts.Symbol, props: ts.Symbol[], file: string): ServiceModel {
  const checker = reader.checker;
  const methods: MethodModel[] = [];
  const topics: TopicModel[] = [];
  for (const p of props) {
    const decl = p.valueDeclaration ?? p.declarations?.[0];
    if (!decl) continue;
    const member = p.getName();
    const t = checker.getTypeOfSymbol(p);
    const site = (where: string, hint: string, node: ts.Node = decl): Site => ({ node, where: `${name}.${member} ${where}`, hint: `${pascal(member)}${hint}` });
    if (!/^[A-Za-z_$][\w$]*$/.test(member)) {
      reader.fail(site('', ''), 'method-shape', `${name} has a member named ${JSON.stringify(member)}`, 'method and topic names are identifiers: they become wire names and generated methods');
      continue;
    }
    const topic = reader.marker(t, 'Topic');
    if (topic) {
      topics.push({ name: member, message: reader.read(topic, site('message', 'Message')), doc: docOf(p, checker) });
      continue;
    }
    const sigs = checker.getSignaturesOfType(t, ts.SignatureKind.Call);
    if (sigs.length === 0) {
      reader.fail(site('', ''), 'method-shape', `${name}.${member} is a data property: a service has methods and Topic<T> properties only`, 'make it a method, or Topic<T> for pub-sub');
      continue;
    }
    const m = readMethod(reader, name, member, p, sigs, site);
    if (m) methods.push(m);
  }
  return { name, file, methods, topics, doc: docOf(sym, checker) };
}

function readMethod(
  reader: TypeReader,
  service: string,
  member: string,
  p: ts.Symbol,
  sigs: readonly ts.Signature[],
  site: (where: string, hint: string, node?: ts.Node) => Site,
): MethodModel | undefined {
  const checker = reader.checker;
  const path = `${service}.${member}`;
  if (sigs.length > 1) {
    reader.fail(site('', ''), 'method-shape', `${path} has ${sigs.length} overloads`, 'a method has one signature: one request type and one response type');
    return undefined;
  }
  const sig = sigs[0]!;
  if (sig.typeParameters?.length) {
    reader.fail(site('', ''), 'generic', `${path} is a generic method`, 'a contract needs concrete types: remove the type parameters');
    return undefined;
  }
  const params = sig.getParameters();
  if (params.length > 1) {
    reader.fail(site('', ''), 'method-shape', `${path} takes ${params.length} parameters`, 'a method takes one request: wrap the parameters in an interface');
    return undefined;
  }
  let request: Shape = { kind: 'undefined' };
  let requestStream = false;
  const param = params[0];
  if (param) {
    const pdecl = param.valueDeclaration as ts.ParameterDeclaration | undefined;
    if (pdecl?.dotDotDotToken) {
      reader.fail(site('', '', pdecl), 'method-shape', `${path} takes a rest parameter`, 'a method takes one request: wrap the parameters in an interface');
      return undefined;
    }
    const ptype = checker.getTypeOfSymbol(param);
    const item = reader.marker(ptype, 'Stream');
    requestStream = item !== undefined;
    request = reader.read(item ?? ptype, site(requestStream ? 'request message' : 'request', 'Request', pdecl ?? undefined));
  }
  let ret = sig.getReturnType();
  const retNode = (p.valueDeclaration as ts.SignatureDeclaration | undefined)?.type ?? undefined;
  if (ret.getSymbol()?.getName() === 'Promise' && reader.isBuiltin(ret.getSymbol())) ret = checker.getAwaitedType(ret) ?? ret;
  const outItem = reader.marker(ret, 'Stream');
  const responseStream = outItem !== undefined;
  const response = reader.read(outItem ?? ret, site(responseStream ? 'response message' : 'response', 'Response', retNode));
  const kind: MethodKind = requestStream ? (responseStream ? 'bidi' : 'client-stream') : responseStream ? 'server-stream' : 'unary';

  let idempotent = false;
  let pinnedId: number | undefined;
  for (const tag of p.getJsDocTags(checker)) {
    if (tag.name === 'idempotent') idempotent = true;
    if (tag.name === 'id') {
      const text = ts.displayPartsToString(tag.text).trim();
      const n = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!(n >= 1 && n <= 0x7fffffff)) reader.fail(site('', ''), 'bad-tag', `${path} has @id ${JSON.stringify(text)}`, '@id takes an integer from 1 to 2147483647');
      else pinnedId = n;
    }
  }
  return { name: member, kind, request, response, noRequest: !param, idempotent, pinnedId, doc: docOf(p, checker) };
}
