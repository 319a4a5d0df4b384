import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec.js';
import { FrameType } from './frame.js';
import { decodeSubjectBody, encodeSubjectBody, encodeSubjectFrame } from './stream-messages.js';

describe('pub-sub bodies', () => {
  it('encodes [subject, payload] frames exactly like the generic codec, and decodes them back', () => {
    const payloads = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.jsonValue(), fc.constant(undefined));
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme' }), payloads, fc.nat(), (subject, payload, id) => {
        const frame = encodeSubjectFrame(FrameType.PUBLISH, id, subject, payload);
        const body = frame.subarray(12);
        expect(Buffer.compare(body, Buffer.from(encode([subject, payload])))).toBe(0);
        expect(Buffer.compare(body, Buffer.from(encodeSubjectBody(subject, payload)))).toBe(0);
        expect(frame[4]).toBe(FrameType.PUBLISH);
        expect(frame.readUInt32LE(8)).toBe(id >>> 0);
        const back = decodeSubjectBody(body, 'EVENT');
        expect(back.subject).toBe(subject);
        expect(back.payload).toEqual((decode(body) as unknown[])[1]);
      }),
      { numRuns: 300 },
    );
  });
});
