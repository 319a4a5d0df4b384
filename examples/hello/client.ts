// Usage: client.ts [server-url] [name]   (default tcp://127.0.0.1:7000)
// Calls the Greeter through the generated, typed GreeterClient.
import { connect, FastpathError } from '@fastpath/core';
import { GreeterClient } from './generated/greeter.js';

const url = process.argv[2] ?? 'tcp://127.0.0.1:7000';
const name = process.argv[3] ?? 'world';

const client = await connect(url);
const greeter = new GreeterClient(client);

const { greeting, servedBy } = await greeter.hello({ name }, { deadline: 1000 });
console.log(`${greeting} (server pid ${servedBy}, path ${client.path})`);
console.log(`2 + 40 = ${(await greeter.add({ a: 2, b: 40 })).sum}`);

try {
  await greeter.hello({ name: '' });
} catch (err) {
  if (!FastpathError.is(err)) throw err;
  console.log(`empty name -> ${err.code}: ${err.message}`);
}
await client.close();
