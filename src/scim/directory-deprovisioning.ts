import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { OidcLogoutService } from '../oidc/oidc-logout.service';
import { LoginSessionsService } from '../saml/login-sessions.service';

/**
 * What deprovisioning does once the directory's change is committed: the user's bridge sessions end, and
 * every app hears of it (back-channel logout to each app that had a session) while their grants and refresh
 * tokens are revoked. A failure here is logged and counted; the user stays deprovisioned (no login, no
 * token: `UsersService.findActive` refuses them), so nothing is let in meanwhile.
 */
@Injectable()
export class DirectoryDeprovisioning {
  private readonly logger = new Logger('DirectoryDeprovisioning');

  constructor(
    private readonly sessions: LoginSessionsService,
    private readonly logout: OidcLogoutService,
    private readonly metrics: MetricsService,
  ) {}

  async signOut(userId: string): Promise<void> {
    try {
      const ended = await this.sessions.endForUser(userId, 'user_deprovisioned');
      const queued = await this.logout.signOutEverywhere([userId]);
      this.metrics.directoryDeprovisionings.inc({ result: 'signed_out' });
      this.logger.log(
        `Deprovisioned user ${userId}: ${ended.length} bridge sessions ended, ${queued} back-channel logouts queued`,
      );
    } catch (err) {
      this.metrics.directoryDeprovisionings.inc({ result: 'failed' });
      this.logger.error({ err }, `Could not sign deprovisioned user ${userId} out everywhere`);
    }
  }
}
