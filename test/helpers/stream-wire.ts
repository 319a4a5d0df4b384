// Stream constants of the wire protocol (docs/protocol.md, section 4.10).

/** The initial credit window of a stream (docs/protocol.md, section 4.10). */
export const WINDOW = 64;

/** REQUEST header flags that give a call its shape; both bits make a bidirectional call. */
export const REQUEST_CLIENT_STREAM = 0x01;
export const REQUEST_SERVER_STREAM = 0x02;
