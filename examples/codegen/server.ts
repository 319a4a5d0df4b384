// Usage: server.ts [listen-url] [server-options-json]   (default tcp://127.0.0.1:7001)
// The Shop service, implemented against the generated handler interface.
import { Server, type ServerOptions } from '@fastpath/core';
import { OrderStatus } from './contract.js';
import { registerShop, shopPublisher, type ShopHandlers } from './generated/shop.js';

const listen = process.argv[2] ?? 'tcp://127.0.0.1:7001';
const extra = JSON.parse(process.argv[3] ?? '{}') as ServerOptions;
const server = new Server({ listen, ...extra });
const publish = shopPublisher(server);

let orders = 0;
const revenue: Record<string, number> = {};

// Every request (and every streamed message) has been validated against the contract before a
// handler sees it: `order.lines[i].price.cents` is a number here, never a string.
const shop: ShopHandlers = {
  placeOrder(order) {
    let cents = 0;
    for (const line of order.lines) cents += line.quantity * line.price.cents;
    const currency = order.lines[0]?.price.currency ?? 'EUR';
    orders++;
    revenue[currency] = (revenue[currency] ?? 0) + cents;
    return { orderId: order.id, total: { cents, currency }, status: OrderStatus.Accepted };
  },
  async *track({ orderId }) {
    const steps = [OrderStatus.Accepted, OrderStatus.Packed, OrderStatus.Shipped];
    for (let i = 0; i < steps.length; i++) yield { orderId, status: steps[i]!, at: new Date(Date.UTC(2024, 0, 1 + i)) };
  },
  async restock(deltas) {
    const skus = new Set<string>();
    let units = 0;
    for await (const { sku, delta } of deltas) {
      skus.add(sku);
      units += delta;
      publish.priceChanges({ sku, price: { cents: 999, currency: 'EUR' } });
    }
    return { skus: skus.size, units };
  },
  async *haggle(offers) {
    for await (const offer of offers) {
      const final = offer.cents >= 850;
      yield { counter: { cents: final ? offer.cents : Math.round((offer.cents + 1000) / 2), currency: offer.currency }, final };
      if (final) return;
    }
  },
  stats: () => ({ orders, revenue }),
};
registerShop(server, shop);

await server.start();
// One JSON line on stdout tells a supervising process (or a test) where we listen.
console.log(JSON.stringify({ address: server.address, pid: process.pid }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void server.close({ graceMs: 2000 }).then(() => process.exit(0));
  });
}
