// Version 1 of a contract; v2.ts is the next version. The version-skew test runs a client
// generated from one against a server generated from the other.
export interface Item {
  sku: string;
  name: string;
}

export interface Inventory {
  /** Unchanged in v2. */
  count(req: { sku: string }): { n: number };
  /** v2 adds an optional field to the request and the response: a compatible change. */
  get(req: { sku: string }): Item;
  /** v2 changes the type of a required field: an incompatible change. */
  rename(req: { sku: string; name: string }): { ok: boolean };
}
