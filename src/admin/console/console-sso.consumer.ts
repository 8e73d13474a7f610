import { Injectable, OnModuleInit } from '@nestjs/common';
import { SsoTracesService } from '../../audit/sso-traces.service';
import type { ConnectionEntity } from '../../connections/connection.entity';
import type { MappedUser } from '../../mapping/attribute-mapping';
import { LoginPort, type LoginConsumer, type OutgoingMessage } from '../../saml/login.port';

/** The console page to open after the sign-in. */
type ConsoleSsoState = { next: string };

/** Who the IdP says the person signing in to the console is (nothing provisioned, no app session). */
export interface ConsoleSsoIdentity {
  connection: ConnectionEntity;
  mapped: MappedUser;
  next: string;
}

/**
 * The console's SSO sign-in as a consumer of SAML logins: its continue step is `/admin/sso/continue`, which
 * decides (admin groups) and opens a console session of its own.
 */
@Injectable()
export class ConsoleSsoConsumer implements LoginConsumer<ConsoleSsoState>, OnModuleInit {
  readonly id = 'admin-console';

  constructor(
    private readonly port: LoginPort,
    private readonly traces: SsoTracesService,
  ) {}

  onModuleInit(): void {
    this.port.register(this);
  }

  continueUrl(code: string, login: { connectionSlug: string }): string {
    return `/admin/sso/continue?connection=${login.connectionSlug}&code=${code}`;
  }

  start(slug: string, next: string, browserBinding: string): Promise<OutgoingMessage> {
    return this.port.start(slug, { consumer: this, state: { next }, browserBinding });
  }

  /** The continue step: the identity of the browser that started the sign-in, traced. */
  async identity(code: unknown, browserProof: string | undefined): Promise<ConsoleSsoIdentity> {
    const login = await this.port.take<ConsoleSsoState>(code, browserProof, this);
    const { connection, identity: mapped } = login;
    await this.traces.record({
      connectionId: connection.id,
      kind: 'acs',
      outcome: 'success',
      message: `Admin console sign-in by ${mapped.email ?? mapped.subject} (identity checked, no app session)`,
      detail: { adminConsole: true, assertionId: login.assertionId, subject: mapped.subject },
    });
    return { connection, mapped, next: login.state.next };
  }
}
