import type { Spawned } from './spawn.js';
import { until } from './util.js';

/** Sends "report" to a subscriber process (test/fixtures/subscriber.ts) and returns its answer. */
export async function report(child: Spawned): Promise<Array<{ subject: string; queue: string | null; received: unknown[]; dropped: number; error: string | null }>> {
  const seen = child.stdout.length;
  child.child.stdin!.write('report\n');
  await until(() => child.stdout.slice(seen).some((l) => l.startsWith('{"report"')), 10_000, 'subscriber report');
  const line = child.stdout.slice(seen).find((l) => l.startsWith('{"report"'))!;
  return (JSON.parse(line) as { report: Awaited<ReturnType<typeof report>> }).report;
}
