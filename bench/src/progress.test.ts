import { describe, expect, it } from 'vitest';
import { fitLine, progressLine } from './progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 40, write: (t: string) => writes.push(t) } };
}

describe('progressLine', () => {
  it('writes nothing when the stream is not a TTY', () => {
    const { writes, stream } = fakeStream(false);
    const p = progressLine(stream);
    p('raw-tcp: 100 round trips');
    p.clear();
    p.done();
    expect(writes).toEqual([]);
  });

  it('on a TTY, rewrites one line in place with the elapsed time, and clears it', () => {
    const { writes, stream } = fakeStream(true);
    let t = 0;
    const p = progressLine(stream, () => t, 60_000);
    p('raw-tcp: starting');
    t = 65_000;
    p('raw-tcp: 1024/2500');
    expect(writes).toEqual(['\r\x1b[Kbench 0:00  raw-tcp: starting', '\r\x1b[Kbench 1:05  raw-tcp: 1024/2500']);
    p.clear();
    expect(writes.at(-1)).toBe('\r\x1b[K');
    p.done();
    p('after done');
    expect(writes).toHaveLength(3);
  });

  it('draws frequent updates at most every 100 ms and fits the terminal width', () => {
    const { writes, stream } = fakeStream(true);
    let t = 0;
    const p = progressLine(stream, () => t, 60_000);
    p('a');
    t = 50;
    p('b');
    expect(writes).toHaveLength(1);
    t = 150;
    p('x'.repeat(100));
    expect(writes).toHaveLength(2);
    expect(writes[1]!.length - '\r\x1b[K'.length).toBe(39);
    p.done();
  });

  it('fitLine cuts the middle of long text', () => {
    expect(fitLine('short', 10)).toBe('short');
    expect(fitLine('abcdefghijkl', 7)).toBe('abc…jkl');
    expect(fitLine('abcdefghijkl', 7)).toHaveLength(7);
  });
});
