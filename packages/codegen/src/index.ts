/** @fastpath/codegen: `fastpath gen`. Not built yet. */
export const codegenVersion = '0.1.0';
