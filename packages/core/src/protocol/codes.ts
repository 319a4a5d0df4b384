/**
 * Status codes, one table for the whole project. The set and the numbers are gRPC's, so that
 * people who know gRPC read them without a glossary, and so that a bridge can map them 1:1.
 * On the wire a code travels as its number; in JavaScript it is the string name.
 */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type Code = keyof typeof Status;
export type StatusNumber = (typeof Status)[Code];

const byNumber: Code[] = [];
for (const [name, n] of Object.entries(Status)) byNumber[n] = name as Code;

/** Maps a wire status number to its name. Numbers outside the table map to UNKNOWN. */
export function codeFromStatus(n: unknown): Code {
  return (typeof n === 'number' && byNumber[n]) || 'UNKNOWN';
}

export function statusOf(code: Code): StatusNumber {
  return Status[code];
}

export function isCode(value: unknown): value is Code {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(Status, value);
}
