/**
 * One pub-sub run: the publisher (this process) publishes numbered 64-byte messages as fast as
 * the subscribers take them, at most `window` messages ahead of the slowest subscriber's last
 * progress report (end-to-end flow control, so that nothing is buffered without bound and no
 * server queue overflows). The first `warmup` messages (or those of the first `maxMs`) are a
 * warm-up; the next ones carry the "measured" flag. It stops after `messages` measured messages
 * or `maxMs` of measured publishing, then waits for every subscriber to report every message, or
 * for a drain timeout.
 */
import { connect, type Client } from '@fastpath/core';
import type net from 'node:net';
import { makePayload, MEASURED_OFFSET, RUN_OFFSET, SEQ_OFFSET } from './payload.js';
import type { Peer, PeerLine } from './peer-process.js';
import { fanoutSubject, HELLO_PUBLISHER, isReport, type SubscriberReport } from './pubsub-protocol.js';
import { connectRaw } from './raw-socket.js';
import { checkTier, clientOptions, type FastpathTarget } from './targets.js';

const PAYLOAD_BYTES = 64;
/** Messages published per turn of the event loop, at most (then I/O and reports get a turn). */
const BATCH = 1024;

/** Sends numbered messages of one run to one fan-out subject (or relay fan-out). */
export interface Publisher {
  /** `measured` is false during the warm-up; subscribers measure only the messages marked measured. */
  publish(seq: number, measured: boolean): void;
  close(): Promise<void>;
}

/** fastpath: `client.publish('bench.fan.<k>', payload)`, fire and forget, on the target's tier. */
export async function fastpathPublisher(address: string, target: FastpathTarget, runId: number, fanout: number): Promise<Publisher & { client: Client }> {
  const client = await connect(address, clientOptions(target));
  try {
    checkTier(client, target);
  } catch (err) {
    await client.close();
    throw err;
  }
  const subject = fanoutSubject(fanout);
  const payload = makePayload(PAYLOAD_BYTES);
  payload.writeUInt32LE(runId >>> 0, RUN_OFFSET);
  // A fire-and-forget publish only rejects once the connection has left the open state; stop
  // publishing as soon as it does, instead of leaving a rejected promise unhandled.
  let broken: Error | undefined;
  client.once('close', (reason) => (broken ??= reason));
  client.once('goaway', () => (broken ??= new Error('the server sent GOAWAY')));
  return {
    client,
    publish(seq, measured) {
      if (broken) throw new Error(`the publisher's connection ended: ${broken.message}`);
      // publish() encodes the payload before it returns, so the buffer is reused at once.
      payload.writeUInt32LE(seq >>> 0, SEQ_OFFSET);
      payload[MEASURED_OFFSET] = measured ? 1 : 0;
      void client.publish(subject, payload);
    },
    close: () => client.close(),
  };
}

/** raw node:net: hello [P, fan-out] to the relay, then one write() per message. */
export async function rawPublisher(relay: Peer, runId: number, fanout: number): Promise<Publisher & { socket: net.Socket }> {
  const socket = await connectRaw(relay.info);
  socket.on('error', () => {});
  socket.write(Buffer.from([HELLO_PUBLISHER, fanout]));
  const template = makePayload(PAYLOAD_BYTES);
  template.writeUInt32LE(runId >>> 0, RUN_OFFSET);
  return {
    socket,
    publish(seq, measured) {
      // A fresh buffer per write: node may keep a reference until the kernel takes the bytes.
      const b = Buffer.allocUnsafe(PAYLOAD_BYTES);
      template.copy(b);
      b.writeUInt32LE(seq >>> 0, SEQ_OFFSET);
      b[MEASURED_OFFSET] = measured ? 1 : 0;
      socket.write(b);
    },
    close: async () => void socket.destroy(),
  };
}

export interface RunOptions {
  runId: number;
  warmup: number;
  messages: number;
  maxMs: number;
  window: number;
  /** How long to wait for the last messages after publishing stopped (default max(1000, maxMs)). */
  drainMs?: number;
}

export interface RunOutcome {
  /** Messages published (warm-up included). */
  published: number;
  /** Each subscriber's last report for this run (undefined if it never reported). */
  reports: Array<SubscriberReport | undefined>;
  /** True when the time bound, not the message count, ended the publishing. */
  timeBound: boolean;
  /** True when every subscriber reported every message. */
  complete: boolean;
}

/** Publishes one run to `subscribers` (the peers that receive this fan-out) and collects their reports. */
export function publishRun(pub: Publisher, subscribers: readonly Peer[], o: RunOptions): Promise<RunOutcome> {
  const reports: Array<SubscriberReport | undefined> = subscribers.map(() => undefined);
  const drainMs = o.drainMs ?? Math.max(1000, o.maxMs);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let end = o.warmup + o.messages;
    let measuring = false;
    let measureStart = 0;
    let waiting = false;
    let stopped = false;
    let finished = false;
    let timeBound = false;
    const started = performance.now();
    let drainTimer: NodeJS.Timeout | undefined;
    // Reports stop coming if a subscriber hangs or dies: bound the publishing anyway.
    const watchdog = setTimeout(() => {
      if (!stopped) stop(true);
    }, 2 * o.maxMs + 250);

    /** The warm-up is over (after `warmup` messages, or `maxMs`): measure the next `messages`. */
    const beginMeasuring = (now: number): void => {
      measuring = true;
      measureStart = now;
      end = sent + o.messages;
    };
    const floor = (): number => {
      let m = Infinity;
      for (const r of reports) m = Math.min(m, r?.received ?? 0);
      return m;
    };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(watchdog);
      if (drainTimer) clearTimeout(drainTimer);
      for (const s of subscribers) s.onLine(null);
      resolve({ published: sent, reports, timeBound, complete: reports.every((r) => r?.received === sent) });
    };
    const checkDone = (): void => {
      if (stopped && reports.every((r) => r?.received === sent)) finish();
    };
    const stop = (byTime: boolean): void => {
      stopped = true;
      timeBound = byTime;
      drainTimer = setTimeout(finish, drainMs);
      checkDone();
    };
    const pump = (): void => {
      if (finished || stopped) return;
      const now = performance.now();
      if (!measuring && (sent >= o.warmup || now - started > o.maxMs)) beginMeasuring(now);
      if (measuring && sent > 0 && now - measureStart > o.maxMs) return stop(true);
      const credit = Math.min(BATCH, o.window - (sent - floor()));
      if (credit <= 0) {
        waiting = true;
        return;
      }
      try {
        for (let i = 0; i < credit && sent < end; i++) {
          if (!measuring && sent >= o.warmup) beginMeasuring(performance.now());
          pub.publish(sent++, measuring);
        }
      } catch (err) {
        finished = true;
        clearTimeout(watchdog);
        for (const s of subscribers) s.onLine(null);
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (sent >= end) return stop(false);
      setImmediate(pump);
    };
    subscribers.forEach((s, i) =>
      s.onLine((line: PeerLine) => {
        if (!isReport(line) || line.run !== o.runId) return;
        reports[i] = line;
        if (stopped) checkDone();
        else if (waiting) {
          waiting = false;
          pump();
        }
      }),
    );
    pump();
  });
}
