import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { MetricsService } from '../metrics/metrics.service';
import type { LostRedemption } from './oidc-adapter';

/** What a replay was of, as the metric and the audit event name it. */
const ARTEFACTS: Record<string, string> = {
  AuthorizationCode: 'authorization_code',
  RefreshToken: 'refresh_token',
  DeviceCode: 'device_code',
  BackchannelAuthenticationRequest: 'backchannel_authentication_request',
};

export interface ReplayReport {
  /** oidc-provider's model name of the artefact, or its grant type at the token endpoint. */
  artefact: string;
  /** `concurrent`: lost the race in the database; `sequential`: presented after it was used. */
  timing: 'concurrent' | 'sequential';
  grantId: string | null;
  clientId: string | null;
  /** Stored artefacts revoked with the grant (concurrent replays; oidc-provider does not say for the other). */
  revoked?: number;
}

/**
 * Reports refused replays of single-use OIDC artefacts (authorization codes, rotated refresh tokens):
 * `bridge_single_use_replays_total{artefact,timing}` and an audit event `oidc.replay_refused`, with the
 * grant that was revoked for it. Never throws: the refusal itself must reach the client.
 */
@Injectable()
export class OidcReplayReporter {
  private readonly logger = new Logger('OidcReplays');

  constructor(
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  /** The name of an artefact for a model name (`AuthorizationCode`) or a grant type (`refresh_token`). */
  static artefact(modelOrGrantType: string): string {
    return ARTEFACTS[modelOrGrantType] ?? modelOrGrantType.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  }

  async lost(lost: LostRedemption, clientId: string | null): Promise<void> {
    await this.report({
      artefact: OidcReplayReporter.artefact(lost.model),
      timing: 'concurrent',
      grantId: lost.grantId,
      clientId,
      revoked: lost.revoked,
    });
  }

  async report(replay: ReplayReport): Promise<void> {
    this.metrics.singleUseReplays.inc({ artefact: replay.artefact, timing: replay.timing });
    this.logger.warn(
      { replay },
      `Refused a ${replay.timing} replay of a ${replay.artefact}; grant ${replay.grantId ?? '(gone)'} revoked`,
    );
    await this.audit.recordSafely({
      type: 'oidc.replay_refused',
      actor: { type: 'system', id: null, name: 'token endpoint' },
      clientId: replay.clientId,
      data: {
        artefact: replay.artefact,
        timing: replay.timing,
        grantId: replay.grantId,
        ...(replay.revoked !== undefined ? { revoked: replay.revoked } : {}),
      },
    });
  }
}
