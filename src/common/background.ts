import { Logger } from '@nestjs/common';

const logger = new Logger('Background');

/**
 * Runs `task` without waiting for it: work the caller must not be slowed down by (an SSO trace, a
 * metric, a retry timer). A rejection is logged with `what` instead of becoming an unhandled rejection
 * (which would end the process). Every fire-and-forget call goes through here, so ESLint's
 * no-floating-promises (with ignoreVoid off) finds any that does not.
 */
export function runInBackground(what: string, task: Promise<unknown>): void {
  task.catch((err: unknown) => {
    logger.error(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  });
}
