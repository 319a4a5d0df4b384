/**
 * @fastpath/codegen: `fastpath gen` turns TypeScript service contracts into typed stubs, runtime
 * validators, stable method ids and contract fingerprints. See docs/codegen.md.
 */
export const codegenVersion = '0.1.0';

export { generate, type GenerateOptions, type GenerateResult, type GeneratedFile, type FileStatus } from './generate.js';
export { generateSources, type SourceOptions, type SourcesResult, type GeneratedSource, type ServiceSummary, type MethodSummary } from './generate-sources.js';
export { runGen, genHelp, genSummary, type GenIO } from './run-gen.js';
export { CodegenError, formatDiagnostic, type Diagnostic, type DiagnosticCode } from './errors.js';
export { methodId, methodFingerprint, canonicalShape, canonicalMethod, CANONICAL_VERSION } from './fingerprint.js';
export type { UnknownKeys, Shape, Decl, Field, MethodKind, MethodModel, ServiceModel, TopicModel, ContractModel } from './model.js';
