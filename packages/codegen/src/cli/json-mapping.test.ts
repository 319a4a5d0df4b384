import { decode, encode } from '@fastpath/core';
import { describe, expect, it } from 'vitest';
import { fromJson, JsonMappingError, parsePayload, toJson } from './json-mapping.js';

describe('fastpath call: the JSON mapping', () => {
  it('reads tagged objects as bytes, bigint, dates and non-finite numbers, anywhere in the payload', () => {
    const v = parsePayload(
      '{"id":{"$bigint":"-9007199254740993"},"blob":{"$bytes":"AAEC/w=="},"at":{"$date":"2026-01-02T03:04:05.000Z"},"list":[{"$number":"NaN"},{"$number":"-Infinity"},1.5],"plain":{"$bytes":"AA==","other":1}}',
    ) as Record<string, unknown>;
    expect(v.id).toBe(-9007199254740993n);
    expect(Buffer.isBuffer(v.blob) && [...(v.blob as Buffer)]).toEqual([0, 1, 2, 255]);
    expect((v.at as Date).toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(v.list).toEqual([Number.NaN, Number.NEGATIVE_INFINITY, 1.5]);
    // Only an object whose one key is a tag is read as the tag.
    expect(v.plain).toEqual({ $bytes: 'AA==', other: 1 });
  });

  it('writes the same tags for what the codec decodes, so a result reads back as it was sent', () => {
    const sent = { n: 2n ** 63n - 1n, small: 42, bytes: Buffer.from([1, 2, 3]), when: new Date(0), nan: Number.NaN, nested: [{ x: null }], gone: undefined };
    const received = decode(encode(sent));
    const json = toJson(received);
    expect(json).toEqual({ n: { $bigint: '9223372036854775807' }, small: 42, bytes: { $bytes: 'AQID' }, when: { $date: '1970-01-01T00:00:00.000Z' }, nan: { $number: 'NaN' }, nested: [{ x: null }] });
    expect(fromJson(JSON.parse(JSON.stringify(json)))).toEqual({ ...sent, gone: undefined, bytes: Buffer.from([1, 2, 3]) });
    expect(toJson(undefined)).toBeNull();
    expect(toJson(new Uint8Array([255]).subarray(0, 1))).toEqual({ $bytes: '/w==' });
  });

  it('keeps a __proto__ key as data, never as a prototype', () => {
    const v = parsePayload('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses malformed tags with the path of the value', () => {
    const fail = (text: string): string => {
      try {
        parsePayload(text);
      } catch (err) {
        expect(err).toBeInstanceOf(JsonMappingError);
        return (err as Error).message;
      }
      throw new Error('expected a JsonMappingError');
    };
    expect(fail('{"a":[1,{"$bytes":"not base64!"}]}')).toBe('a[1]: $bytes expects standard base64 (A-Z a-z 0-9 + /, = padding)');
    expect(fail('{"id":{"$bigint":"12.5"}}')).toBe('id: $bigint expects a decimal integer, got "12.5"');
    expect(fail('{"id":{"$bigint":12}}')).toBe('id: $bigint expects a string, got number');
    expect(fail('{"at":{"$date":"yesterday"}}')).toBe('at: $date expects an ISO 8601 date, got "yesterday"');
    expect(fail('{"x y":{"$number":"big"}}')).toBe('["x y"]: $number expects "NaN", "Infinity" or "-Infinity", got "big"');
    expect(() => parsePayload('{"a":')).toThrow(SyntaxError);
  });
});
