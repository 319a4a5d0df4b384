import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputPath } from './report.js';

describe('output paths', () => {
  it('resolve relative to where the command was typed (INIT_CWD), not bench/ where npm runs the script', () => {
    expect(outputPath('out.json', { INIT_CWD: '/home/me/fastpath' })).toBe(join('/home/me/fastpath', 'out.json'));
    expect(outputPath('/tmp/x.svg', { INIT_CWD: '/home/me' })).toBe('/tmp/x.svg');
    expect(outputPath('out.json', {})).toBe(join(process.cwd(), 'out.json'));
  });
});
