import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { PeriodicJobs } from '../database/periodic-jobs';
import { SamlStateService } from './saml-state.service';

/** Deletes expired pending requests, login completions and replay-cache entries every 5 minutes (one instance). */
@Injectable()
export class SamlHousekeeping implements OnApplicationBootstrap {
  constructor(
    private readonly state: SamlStateService,
    private readonly jobs: PeriodicJobs,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.schedule({ name: 'saml-purge', periodMs: 5 * 60_000, run: () => this.state.purgeExpired() });
  }
}
