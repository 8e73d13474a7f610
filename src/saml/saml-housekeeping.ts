import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SamlStateService } from './saml-state.service';

const PURGE_EVERY_MS = 5 * 60_000;

/** Deletes expired pending requests and replay-cache entries every few minutes (idempotent across instances). */
@Injectable()
export class SamlHousekeeping implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SamlHousekeeping');
  private timer?: NodeJS.Timeout;

  constructor(private readonly state: SamlStateService) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.state.purgeExpired().catch((err: Error) => this.logger.warn(`Purge failed: ${err.message}`));
    }, PURGE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
