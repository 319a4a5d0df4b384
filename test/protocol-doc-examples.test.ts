// Keeps docs/protocol.md honest: every ```hex and ```msgpack example in it must be exactly what
// the encoder produces for the value listed in test/helpers/protocol-examples.ts, and every hex
// frame must parse into the documented frame type and id. That live sessions send the same bytes
// is checked by test/protocol-doc-sessions.test.ts.
import { decode, DEFAULT_MAX_FRAME_BYTES, encode, FrameParser, FrameType, frameTypeName, HEADER_BYTES, Status } from '@fastpath/core';
import { describe, expect, it } from 'vitest';
import { annotation, blocks, bytesOf, doc, hex, hexBlocks, valueBlocks } from './helpers/protocol-doc.js';
import { EMPTY, frames, values } from './helpers/protocol-examples.js';

interface Parsed {
  type: number;
  flags: number;
  id: number;
  body: Buffer;
}

function parseAll(chunks: Uint8Array[]): Parsed[] {
  const out: Parsed[] = [];
  const parser = new FrameParser((type, flags, id, body) => out.push({ type, flags, id, body: Buffer.from(body) }), DEFAULT_MAX_FRAME_BYTES);
  for (const c of chunks) parser.push(c);
  expect(parser.buffered).toBe(0);
  return out;
}

describe('docs/protocol.md examples', () => {
  it('has one block per example in the table, and no others', () => {
    const names = blocks.map((b) => b.name);
    expect(new Set(names).size).toBe(names.length);
    expect(hexBlocks.map((b) => b.name).sort()).toEqual(Object.keys(frames).sort());
    expect(valueBlocks.map((b) => b.name).sort()).toEqual(Object.keys(values).sort());
  });

  describe.each(hexBlocks.map((b) => [b.name, b] as const))('frame %s', (name, block) => {
    const example = frames[name]!;

    it('is exactly what the encoder produces', () => {
      expect(example, `no table entry for ${name}`).toBeDefined();
      expect(hex(bytesOf(block))).toBe(hex(example.build()));
    });

    it('parses into the documented frame type, id and body', () => {
      const bytes = bytesOf(block);
      for (const chunks of [[bytes], [...bytes].map((b) => Uint8Array.of(b))]) {
        const parsed = parseAll(chunks);
        expect(parsed).toHaveLength(1);
        const f = parsed[0]!;
        expect(frameTypeName(f.type)).toBe(example.type);
        expect(f.id).toBe(example.id);
        expect(f.flags).toBe(0);
        expect(f.body.length).toBe(bytes.length - HEADER_BYTES);
        if (example.body === EMPTY) expect(f.body.length).toBe(0);
        else expect(decode(f.body)).toEqual(example.body);
      }
    });

    it('annotates the header with the real length, type and id', () => {
      const bytes = bytesOf(block);
      expect(annotation(block, 'length')).toBe(String(bytes.length - HEADER_BYTES));
      expect(annotation(block, 'type')).toBe(`0x${FrameType[example.type].toString(16).padStart(2, '0')} ${example.type}`);
      expect(annotation(block, 'id')).toBe(String(example.id));
    });
  });

  describe.each(valueBlocks.map((b) => [b.name, b] as const))('value %s', (name, block) => {
    it('is exactly what the encoder produces, and decodes as documented', () => {
      const example = values[name]!;
      expect(example, `no table entry for ${name}`).toBeDefined();
      const bytes = bytesOf(block);
      expect(hex(bytes)).toBe(hex(encode(example.value)));
      expect(decode(bytes)).toEqual(example.decoded);
    });
  });

  it('parses all the frames when they arrive back to back in one chunk', () => {
    const all = hexBlocks.map((b) => bytesOf(b));
    const parsed = parseAll([Buffer.concat(all)]);
    expect(parsed.map((f) => [frameTypeName(f.type), f.id])).toEqual(hexBlocks.map((b) => [frames[b.name]!.type, frames[b.name]!.id]));
  });

  it('lists every frame type with its number', () => {
    const rows = [...doc.matchAll(/^\| `0x([0-9a-f]{2})` \| (\w+)\s*\|/gm)].map((m) => [m[2]!, Number.parseInt(m[1]!, 16)]);
    expect(Object.fromEntries(rows)).toEqual({ ...FrameType });
  });

  it('lists every status with its number', () => {
    const table: Record<string, number> = {};
    for (const m of doc.matchAll(/^\|\s*(\d+)\s*\|\s*([A-Z_]+)\s*\|\s*(\d*)\s*\|\s*([A-Z_]*)\s*\|$/gm)) {
      table[m[2]!] = Number(m[1]);
      if (m[3]) table[m[4]!] = Number(m[3]);
    }
    expect(table).toEqual({ ...Status });
  });
});
