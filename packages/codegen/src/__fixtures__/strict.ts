// Generated with unknownKeys 'reject' and maxDepth 8 (golden-strict/): validators fail on
// undeclared keys, and on nesting deeper than 8.
export interface Node {
  name: string;
  next?: Node;
}

export interface Strict {
  put(req: { node: Node; tags?: string[] }): { ok: boolean };
}
