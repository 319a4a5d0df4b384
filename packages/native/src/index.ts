/**
 * @fastpath/native: the same-host fast-path transports. Not built yet: this shell only reports
 * that no native transport is available, so @fastpath/core falls back to node:net.
 */
export const nativeAvailable = false;
