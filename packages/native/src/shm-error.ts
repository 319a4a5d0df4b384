/**
 * The shm tier's error: ShmError, with a stable `code`, and how an error the addon threw becomes one.
 */

/** An Error with a stable `code` (ENOENT, EPERM, EBADTOKEN, ENATIVE, ETIMEDOUT, ECANCELED, ESHMCORRUPT, EMAINTHREAD, ...). */
export class ShmError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ShmError';
  }
}

/** An error the addon threw (with an errno-style `code`, else EIO) as a ShmError. */
export function toError(e: unknown): ShmError {
  const err = e as { code?: unknown; message?: unknown };
  return new ShmError(typeof err?.code === 'string' ? err.code : 'EIO', String(err?.message ?? e), { cause: e });
}
