/**
 * True when an error means the database cannot be reached (connection refused, dropped, timed out,
 * server shutting down) rather than a problem with the query itself.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    if (
      /^(08|57P0)/.test(code) ||
      ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)
    ) {
      return true;
    }
    if (
      /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|the database system is (starting up|shutting down)|Client has encountered a connection error/i.test(
        message,
      )
    ) {
      return true;
    }
    current = e.driverError ?? e.cause;
  }
  return false;
}
