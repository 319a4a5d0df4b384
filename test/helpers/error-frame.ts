import { decode } from '@fastpath/core';
import type { RawFrame } from './raw-peer.js';

/** The [status, message, details] body of an ERROR or GOAWAY frame a raw peer received. */
export function errorOf(frame: RawFrame): { status: number; message: string; details: Record<string, unknown> | null } {
  const [status, message, details] = decode(frame.body) as [number, string, Record<string, unknown> | null];
  return { status, message, details };
}
