import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionsService } from './connections.service';
import { runInBackground } from '../common/background';

/**
 * Periodically refreshes metadata URLs that are due. Safe with many instances: each due connection is
 * claimed by one instance (see ConnectionsService.refreshDue). Disabled when the period is 0.
 */
@Injectable()
export class MetadataRefreshScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MetadataRefreshScheduler');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly connections: ConnectionsService,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.config.metadataSchedulerSeconds;
    if (seconds <= 0) return;
    this.timer = setInterval(() => runInBackground('Metadata refresh', this.tick()), seconds * 1000);
    this.timer.unref();
  }

  /** One pass; overlapping passes are skipped. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        for (;;) {
          const outcomes = await this.connections.refreshDue(10);
          if (outcomes.length < 10) break;
        }
      } catch (err) {
        this.logger.warn(`Metadata refresh pass failed: ${(err as Error).message}`);
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
