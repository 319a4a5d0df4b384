// The contract, in plain TypeScript. Both processes import it; only types cross the wire.
export interface Greeter {
  hello(req: { name: string }): { greeting: string; servedBy: number };
  add(req: { a: number; b: number }): { sum: number };
}
