// A pub-sub subscriber process. It counts 64-byte messages per run, checks their sequence
// numbers, and prints progress reports on stdout (see pubsub-protocol.ts) every `report-every`
// messages and every 20 ms while messages arrive, so the publisher can keep within its window.
// Usage: subscriber.ts fastpath <server-url> <index> <report-every> <fanouts> <row>
//        subscriber.ts raw      <server-url> <index> <report-every> <fanouts>
//   fastpath: connects on the row's tier and subscribes to bench.fan.<k> for every fan-out k > index.
//   raw: connects to raw-relay.ts and says hello as subscriber <index>.
import { connect } from '@fastpath/core';
import type net from 'node:net';
import { FixedMessages } from '../fixed-messages.js';
import { MEASURED_OFFSET, readRun, readSeq } from '../payload.js';
import { fanoutSubject, HELLO_SUBSCRIBER, RELAY_READY, type SubscriberReport } from '../pubsub-protocol.js';
import { connectRaw } from '../raw-socket.js';
import { checkTier, clientOptions, FASTPATH_TARGETS } from '../targets.js';
import { runPeer } from './peer-main.js';

const [kind, address = '', indexArg = '0', everyArg = '1024', fanoutsArg = '1', row] = process.argv.slice(2);
const index = Number(indexArg);
const reportEvery = Math.max(1, Number(everyArg));
const fanouts = fanoutsArg.split(',').map(Number);
const PAYLOAD_BYTES = 64;

let run = -1;
let received = 0;
let measured = 0;
let first = 0;
let last = 0;
let gaps = 0;
let disorder = 0;
let nextSeq = 0;
let reportedAt = -1;
let stampQueued = false;

function report(): void {
  reportedAt = received;
  const r: SubscriberReport = { run, received, measured, spanUs: (last - first) * 1000, gaps, disorder };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

// The arrival time of the latest message is read once per batch of messages delivered in one go,
// after the batch, instead of once per message.
const stamp = (): void => {
  stampQueued = false;
  last = performance.now();
};

function onMessage(b: Uint8Array): void {
  const r = readRun(b);
  if (r !== run) {
    if (run !== -1 && received !== reportedAt) report();
    run = r;
    received = measured = gaps = disorder = nextSeq = 0;
    first = last = 0;
  }
  received++;
  const seq = readSeq(b);
  if (seq === nextSeq) nextSeq++;
  else if (seq > nextSeq) {
    gaps += seq - nextSeq;
    nextSeq = seq + 1;
  } else disorder++;
  if (b[MEASURED_OFFSET] === 1) {
    if (measured === 0) first = last = performance.now();
    measured++;
    if (!stampQueued) {
      stampQueued = true;
      queueMicrotask(stamp);
    }
  }
  if (received % reportEvery === 0) {
    if (stampQueued) stamp();
    report();
  }
}

setInterval(() => {
  if (run !== -1 && received !== reportedAt) report();
}, 20).unref();

function rawSubscribe(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const messages = new FixedMessages(PAYLOAD_BYTES, onMessage);
    let ready = false;
    socket.on('data', (chunk: Buffer) => {
      if (!ready) {
        if (chunk[0] !== RELAY_READY) return reject(new Error(`the relay answered ${chunk[0]}, not READY`));
        ready = true;
        resolve();
        chunk = chunk.subarray(1);
      }
      if (chunk.length > 0) messages.push(chunk);
    });
    socket.once('close', () => reject(new Error('the relay closed the connection')));
    socket.write(Buffer.from([HELLO_SUBSCRIBER, index]));
  });
}

await runPeer(async () => {
  const subjects = fanouts.filter((k) => index < k).map(fanoutSubject);
  if (kind === 'raw') {
    const url = new URL(address);
    const socket = await connectRaw({ address, pid: 0, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) });
    socket.on('error', () => {});
    await rawSubscribe(socket);
    return { info: { address, path: 'raw', index }, close: async () => void socket.destroy() };
  }
  if (kind !== 'fastpath') throw new Error(`kind must be fastpath or raw, got "${kind}"`);
  const target = FASTPATH_TARGETS.find((t) => t.row === row);
  if (!target) throw new Error(`unknown fastpath row "${row}"`);
  const client = await connect(address, clientOptions(target));
  checkTier(client, target);
  const subs = subjects.map((s) => client.subscribe<Uint8Array>(s, { callback: onMessage }));
  await Promise.all(subs.map((s) => s.ready));
  return { info: { address, path: client.path, index, subjects: subjects.join(',') }, close: () => client.close() };
});
