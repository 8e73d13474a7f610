import { Injectable, OnModuleInit } from '@nestjs/common';
import { SsoTracesService } from '../../audit/sso-traces.service';
import type { MappedUser } from '../../mapping/attribute-mapping';
import { UsersService } from '../../users/users.service';
import { LoginPort, type LoginConsumer, type OutgoingMessage } from '../../saml/login.port';

/** Where the result page links back to (a same-site path), or nowhere. */
type TestLoginState = { backTo: string | null };

/**
 * A finished test login: what the IdP asserted and what the bridge mapped it to. No user is provisioned,
 * no session opened, no app signed in.
 */
export interface TestLoginResult {
  connection: { id: string; slug: string; name: string };
  mapped: MappedUser;
  attributes: Record<string, string[]>;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  authnContextClassRef?: string;
  /** The local user this identity is (null: a real login would create one). */
  existingUser: { id: string; disabled: boolean } | null;
  backTo: string | null;
  traceId?: string;
}

/**
 * Test logins: a real SP-initiated login whose result is only shown (mapped claims and raw attributes) at
 * its continue step `/test-login/result`: no user is provisioned, no session opened. The browser that starts
 * it must be the one that finishes it. Callers restrict who may start one (the console requires an admin
 * session, the customer's setup page its setup link). A disabled user's login is shown too (the page says
 * the user is disabled).
 */
@Injectable()
export class TestLoginConsumer implements LoginConsumer<TestLoginState>, OnModuleInit {
  readonly id = 'test-login';
  readonly admitsRefusedUsers = true;

  constructor(
    private readonly port: LoginPort,
    private readonly users: UsersService,
    private readonly traces: SsoTracesService,
  ) {}

  onModuleInit(): void {
    this.port.register(this);
  }

  continueUrl(code: string): string {
    return `/test-login/result?code=${code}`;
  }

  start(slug: string, browserBinding: string, backTo?: string): Promise<OutgoingMessage> {
    return this.port.start(slug, {
      consumer: this,
      state: { backTo: backTo ?? null },
      browserBinding,
      returnTo: backTo,
    });
  }

  /** The continue step: what the IdP sent and how it maps, traced. */
  async result(code: unknown, browserProof: string | undefined): Promise<TestLoginResult> {
    const login = await this.port.take<TestLoginState>(code, browserProof, this);
    const { connection, identity: mapped } = login;
    const existing = await this.users.findBySubject(connection.id, mapped.subject);
    const traceId = await this.traces.record({
      connectionId: connection.id,
      kind: 'acs',
      outcome: 'success',
      message: `Test login mapped ${mapped.email ?? mapped.subject} (no user provisioned, no session)`,
      detail: {
        test: true,
        assertionId: login.assertionId,
        subject: mapped.subject,
        inResponseTo: login.inResponseTo,
      },
    });
    return {
      connection: { id: connection.id, slug: connection.slug, name: connection.name },
      mapped,
      attributes: login.attributes,
      nameId: login.nameId,
      nameIdFormat: login.nameIdFormat,
      sessionIndex: login.sessionIndex,
      authnContextClassRef: login.authnContextClassRef,
      existingUser: existing ? { id: existing.id, disabled: existing.disabled } : null,
      backTo: typeof login.state.backTo === 'string' ? login.state.backTo : null,
      traceId,
    };
  }
}
