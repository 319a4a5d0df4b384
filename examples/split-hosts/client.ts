// Usage: client.ts <server-url> [name]   e.g. tcp://10.0.0.5:7000 (another machine) or tcp://127.0.0.1:7000
// The hello client, unchanged but for the address: it prints which path the connection took and why.
import { connect, FastpathError } from '@fastpath/core';
import { GreeterClient } from '../hello/generated/greeter.js';

const url = process.argv[2] ?? process.env.GREETER_URL ?? 'tcp://127.0.0.1:7000';
const name = process.argv[3] ?? 'world';

const client = await connect(url);
const greeter = new GreeterClient(client);

const { greeting, servedBy } = await greeter.hello({ name }, { deadline: 1000 });
const { path, reason } = client.pathInfo;
console.log(`${greeting} (server pid ${servedBy})`);
console.log(`path ${path}${reason ? ` (${reason})` : ''}`);
console.log(`2 + 40 = ${(await greeter.add({ a: 2, b: 40 }, { deadline: 1000 })).sum}`);

try {
  await greeter.hello({ name: '' });
} catch (err) {
  if (!FastpathError.is(err)) throw err;
  console.log(`empty name -> ${err.code}: ${err.message}`);
}
await client.close();
