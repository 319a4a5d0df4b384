import { describe, expect, it } from 'vitest';
import { codeFromStatus, Status, statusOf } from './codes.js';
import { FastpathError, ProtocolError, toFastpathError } from './errors.js';

describe('FastpathError', () => {
  it('carries a code, details and a Symbol.for brand', () => {
    const e = new FastpathError('NOT_FOUND', 'x', { details: { method: 'A.b' } });
    expect(e.code).toBe('NOT_FOUND');
    expect(e.details).toEqual({ method: 'A.b' });
    expect(e.name).toBe('FastpathError');
    expect(e).toBeInstanceOf(Error);
    expect((e as unknown as Record<symbol, unknown>)[Symbol.for('fastpath.error')]).toBe(true);
    expect(FastpathError.is(new Error('x'))).toBe(false);
    expect(FastpathError.is(null)).toBe(false);
  });

  it('is recognised across two loaded copies of the module', async () => {
    // A query string makes Vite load a second, independent instance of errors.ts.
    const specifier = './errors.js?second-copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as typeof import('./errors.js');
    expect(copy.FastpathError).not.toBe(FastpathError);
    const foreign = new copy.FastpathError('UNAVAILABLE', 'from the other copy');
    expect(FastpathError.is(foreign)).toBe(true);
    expect(foreign instanceof FastpathError).toBe(true);
    const foreignProto = new copy.ProtocolError('bad-body', 'x');
    expect(ProtocolError.is(foreignProto)).toBe(true);
    expect(foreignProto instanceof ProtocolError).toBe(true);
    expect(new FastpathError('INTERNAL', 'x') instanceof copy.ProtocolError).toBe(false);
  });

  it('ProtocolError defaults to INTERNAL and keeps its reason', () => {
    const p = new ProtocolError('bad-header', 'x');
    expect(p.code).toBe('INTERNAL');
    expect(p.reason).toBe('bad-header');
    expect(p).toBeInstanceOf(FastpathError);
    expect(new FastpathError('INTERNAL', 'y') instanceof ProtocolError).toBe(false);
  });

  it('maps every code to its gRPC number and back', () => {
    for (const [name, n] of Object.entries(Status)) {
      expect(statusOf(name as keyof typeof Status)).toBe(n);
      expect(codeFromStatus(n)).toBe(name);
    }
    expect(Object.keys(Status)).toHaveLength(17);
    expect(codeFromStatus(1234)).toBe('UNKNOWN');
    expect(codeFromStatus('3')).toBe('UNKNOWN');
  });

  it('toFastpathError wraps foreign errors', () => {
    const e = toFastpathError(new TypeError('nope'), 'INTERNAL');
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toBe('nope');
    expect(e.cause).toBeInstanceOf(TypeError);
    const same = new FastpathError('ABORTED', 'a');
    expect(toFastpathError(same)).toBe(same);
  });
});
