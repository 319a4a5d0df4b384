// Reads docs/protocol.md: its annotated ```hex and ```msgpack example blocks, and their bytes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DOC = fileURLToPath(new URL('../../docs/protocol.md', import.meta.url));

export interface Block {
  kind: 'hex' | 'msgpack';
  name: string;
  text: string;
}

/** The text of docs/protocol.md. */
export const doc = readFileSync(DOC, 'utf8');

function extractBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  for (const m of markdown.matchAll(/^```(hex|msgpack) ([\w-]+)[ \t]*\n([\s\S]*?)^```[ \t]*$/gm)) {
    out.push({ kind: m[1] as Block['kind'], name: m[2]!, text: m[3]! });
  }
  return out;
}

/** The bytes of an annotated block: everything after `#` on a line is commentary. */
export function bytesOf(block: Block): Buffer {
  let hex = '';
  for (const line of block.text.split('\n')) {
    const code = line.split('#', 1)[0]!.replace(/\s+/g, '');
    if (!/^(?:[0-9a-f]{2})*$/.test(code)) throw new Error(`${block.name}: not lowercase hex byte pairs: "${line}"`);
    hex += code;
  }
  return Buffer.from(hex, 'hex');
}

/** The value of `name = <value>` in the block's commentary. */
export function annotation(block: Block, name: string): string | undefined {
  const m = new RegExp(`#\\s*${name} = (\\S+)(?: (\\w+))?`).exec(block.text);
  return m ? (m[2] ? `${m[1]} ${m[2]}` : m[1]) : undefined;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Every example block of the page, in page order; its ```hex and its ```msgpack blocks. */
export const blocks = extractBlocks(doc);
export const hexBlocks = blocks.filter((b) => b.kind === 'hex');
export const valueBlocks = blocks.filter((b) => b.kind === 'msgpack');
/** The bytes of the ```hex block called `name`. */
export const docBytes = (name: string): Buffer => bytesOf(hexBlocks.find((b) => b.name === name)!);
