// Usage: client.ts [server-url] [client-options-json]   (default tcp://127.0.0.1:7001)
// Every call goes through the generated ShopClient: typed arguments, validated responses.
import { connect, FastpathError, type ClientOptions } from '@fastpath/core';
import type { Order } from './contract.js';
import { ShopClient, ShopTopics } from './generated/shop.js';

const url = process.argv[2] ?? 'tcp://127.0.0.1:7001';
const options = JSON.parse(process.argv[3] ?? '{}') as ClientOptions;

const client = await connect(url, options);
const shop = new ShopClient(client);
console.log(`connected over ${client.path}`);

const order: Order = {
  id: 'A-1',
  lines: [
    { sku: 'sku-1', quantity: 2, price: { cents: 1000, currency: 'EUR' } },
    { sku: 'sku-2', quantity: 1, price: { cents: 500, currency: 'EUR' } },
  ],
  payment: { kind: 'card', last4: '4242' },
  placedAt: new Date(Date.UTC(2024, 0, 1)),
};
const receipt = await shop.placeOrder(order, { deadline: 5000 });
console.log(`placeOrder -> ${receipt.status}, total ${receipt.total.cents} ${receipt.total.currency} (order ${receipt.orderId})`);

// A payload the types would refuse, forced through: the server's validator names the exact path.
const bad = { ...order, lines: [order.lines[0], { ...order.lines[1], price: { cents: '500', currency: 'EUR' } }] } as unknown as Order;
try {
  await shop.placeOrder(bad);
} catch (err) {
  if (!FastpathError.is(err)) throw err;
  console.log(`invalid order -> ${err.code}: ${err.message}`);
}

const statuses: string[] = [];
for await (const update of shop.track({ orderId: 'A-1' })) statuses.push(`${update.status} ${update.at.toISOString().slice(0, 10)}`);
console.log(`track A-1: ${statuses.join(', ')}`);

// Topic messages are validated too: an invalid one is dropped and reported as an 'error'.
const dropped = new Promise<FastpathError>((resolve) => client.once('error', resolve));
const sub = shop.priceChanges.subscribe();
await sub.ready;
await client.publish(ShopTopics.priceChanges, { sku: 7, price: { cents: 1, currency: 'EUR' } }, { ack: true });
const summary = await shop.restock([
  { sku: 'sku-1', delta: 5 },
  { sku: 'sku-2', delta: 2 },
]);
console.log(`restock -> ${summary.skus} skus, ${summary.units} units`);
const changes: string[] = [];
for await (const m of sub) {
  changes.push(`${m.data.sku} ${m.data.price.cents} ${m.data.price.currency}`);
  if (changes.length === 2) break;
}
console.log(`priceChanges: ${changes.join(', ')}`);
const err = await dropped;
console.log(`invalid price change dropped -> ${err.code}: ${err.message}`);

const rounds: string[] = [];
for await (const reply of shop.haggle([
  { cents: 600, currency: 'EUR' },
  { cents: 850, currency: 'EUR' },
])) {
  rounds.push(`${reply.counter.cents}${reply.final ? ' (final)' : ''}`);
}
console.log(`haggle: ${rounds.join(', ')}`);

const stats = await shop.stats();
console.log(`stats -> ${stats.orders} order(s), revenue ${JSON.stringify(stats.revenue)}`);
await client.close();
