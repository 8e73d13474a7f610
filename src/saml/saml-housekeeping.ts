import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { PeriodicJobs } from '../database/periodic-jobs';
import { LoginSessionsService } from './login-sessions.service';
import { SamlStateService } from './saml-state.service';

/**
 * The SAML module's purge, every 5 minutes (one instance): expired pending requests, login completions and
 * replay-cache entries, and login sessions an hour after they expired or ended.
 */
@Injectable()
export class SamlHousekeeping implements OnApplicationBootstrap {
  constructor(
    private readonly state: SamlStateService,
    private readonly sessions: LoginSessionsService,
    private readonly jobs: PeriodicJobs,
  ) {}

  /** Runs the purge now; how many rows of each kind it deleted. */
  async purgeExpired(): Promise<Record<string, number>> {
    return { ...(await this.state.purgeExpired()), sessions: await this.sessions.purgeExpired() };
  }

  onApplicationBootstrap(): void {
    this.jobs.schedule({ name: 'saml-purge', periodMs: 5 * 60_000, run: () => this.purgeExpired() });
  }
}
