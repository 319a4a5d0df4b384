// Usage: client.ts <address> [calls]
// Makes some calls (a few of them fail on purpose) and prints what its own metrics() says.
import { connect, FastpathError } from '@fastpath/core';

const client = await connect(process.argv[2] ?? 'tcp://127.0.0.1:7000');
const n = Number(process.argv[3] ?? 100);
for (let i = 0; i < n; i++) {
  try {
    await client.call('Calc.divide', { a: i, b: i % 10 });
  } catch (err) {
    if (!(err instanceof FastpathError) || err.code !== 'INVALID_ARGUMENT') throw err;
  }
}
const m = client.metrics().connection;
console.log(`path ${m.path}; ${m.calls.ok} ok, ${m.calls.failed} failed ${JSON.stringify(m.calls.errors)}; p50 ${m.latencyUs?.p50} µs, p99 ${m.latencyUs?.p99} µs`);
await client.close();
