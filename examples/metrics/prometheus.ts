// A Prometheus exporter for a fastpath server, with prom-client. Scrapes read server.metrics();
// calls are also counted live from the `fastpath:call:end` diagnostics channel (a histogram of
// durations per method, side and code), which is how any other exporter (OpenTelemetry, StatsD)
// would hook in without touching the application.
import diagnosticsChannel from 'node:diagnostics_channel';
import type { CallEndMessage, Server } from '@fastpath/core';
import { Gauge, Histogram, Registry } from 'prom-client';

export function fastpathRegistry(server: Server): Registry {
  const registry = new Registry();
  const conn = ['connection', 'path'] as const;
  // Registered first: prom-client reads metrics in registration order and calls each one's
  // `collect` just before, so this one refreshes every gauge from server.metrics() at each scrape.
  const open = new Gauge({ name: 'fastpath_connections', help: 'Open connections, by tier', labelNames: ['path'], registers: [registry], collect: () => collect() });
  const calls = new Gauge({ name: 'fastpath_connection_calls', help: 'Calls served on an open connection, by outcome', labelNames: [...conn, 'outcome'], registers: [registry] });
  const errors = new Gauge({ name: 'fastpath_connection_errors', help: 'Failed calls on an open connection, by status code', labelNames: [...conn, 'code'], registers: [registry] });
  const bytes = new Gauge({ name: 'fastpath_connection_bytes', help: 'Bytes on an open connection', labelNames: [...conn, 'direction'], registers: [registry] });
  const latency = new Gauge({ name: 'fastpath_connection_latency_us', help: 'Call latency on an open connection (HdrHistogram summary)', labelNames: [...conn, 'quantile'], registers: [registry] });
  const total = new Gauge({ name: 'fastpath_calls_total', help: 'Calls since the server started, closed connections included', labelNames: ['outcome'], registers: [registry] });

  function collect(): void {
    for (const g of [calls, errors, bytes, latency, open, total]) g.reset();
    const m = server.metrics();
    const byPath = new Map<string, number>();
    for (const c of m.connections) {
      const l = { connection: String(c.id), path: c.path };
      byPath.set(c.path, (byPath.get(c.path) ?? 0) + 1);
      calls.set({ ...l, outcome: 'ok' }, c.calls.ok);
      calls.set({ ...l, outcome: 'failed' }, c.calls.failed);
      for (const [code, n] of Object.entries(c.calls.errors)) errors.set({ ...l, code }, n);
      bytes.set({ ...l, direction: 'in' }, c.bytes.in);
      bytes.set({ ...l, direction: 'out' }, c.bytes.out);
      if (c.latencyUs) for (const q of ['p50', 'p99', 'p999', 'max'] as const) latency.set({ ...l, quantile: q }, c.latencyUs[q]);
    }
    for (const [path, n] of byPath) open.set({ path }, n);
    total.set({ outcome: 'ok' }, m.totals.calls.ok);
    total.set({ outcome: 'failed' }, m.totals.calls.failed);
  }

  // Live, from the diagnostics channel.
  const durations = new Histogram({
    name: 'fastpath_call_duration_seconds',
    help: 'Call durations seen on the fastpath:call:end channel',
    labelNames: ['side', 'method', 'code'],
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  diagnosticsChannel.subscribe('fastpath:call:end', (message) => {
    const m = message as CallEndMessage;
    if (m.durationUs !== undefined) durations.observe({ side: m.side, method: m.method, code: m.code }, m.durationUs / 1e6);
  });
  return registry;
}
