// Version 2 of skew/v1.ts.
export interface Item {
  sku: string;
  name: string;
  /** New and optional: v1 peers strip it, and the fingerprint of get is unchanged. */
  color?: string;
}

export interface Inventory {
  count(req: { sku: string }): { n: number };
  get(req: { sku: string; withColor?: boolean }): Item;
  /** `name` became a structured value: the fingerprint of rename changes. */
  rename(req: { sku: string; name: { first: string; last: string } }): { ok: boolean };
}
