import type { BridgeConfig } from '../../../src/config/bridge-config';
import type { Delivery, LogoutDeliveriesRepository } from '../../../src/oidc/logout-deliveries.repository';
import type { OidcProviderHost } from '../../../src/oidc/oidc-provider.host';
import { BACKCHANNEL_RETRY_DELAYS_S, OidcLogoutService } from '../../../src/oidc/oidc-logout.service';
import { OutboundError } from '../../../src/platform/http/outbound';
import { FakeAudit } from '../support/fake-database';

/** Due deliveries to hand out, and what the service recorded for each. */
class FakeDeliveries {
  due: Delivery[] = [];
  readonly delivered: string[] = [];
  readonly failed: Array<{ id: string; error: string; status: string; retryIn: number }> = [];

  async claimDue(limit: number): Promise<Delivery[]> {
    return this.due.splice(0, limit);
  }
  async markDelivered(id: string): Promise<void> {
    this.delivered.push(id);
  }
  async markAttemptFailed(id: string, error: string, status: string, retryIn: number): Promise<void> {
    this.failed.push({ id, error, status, retryIn });
  }
}

describe('OidcLogoutService back-channel deliveries (fake repository)', () => {
  let deliveries: FakeDeliveries;
  let audit: FakeAudit;
  let clients: Record<string, { backchannelLogoutUri?: string; backchannelLogout: jest.Mock }>;
  let service: OidcLogoutService;

  beforeEach(() => {
    deliveries = new FakeDeliveries();
    audit = new FakeAudit();
    clients = {};
    const host = {
      current: async () => ({ Client: { find: async (id: string) => clients[id] } }),
    } as unknown as OidcProviderHost;
    const counter = { inc: () => undefined };
    const none = {} as never;
    service = new OidcLogoutService(
      deliveries as unknown as LogoutDeliveriesRepository,
      none,
      none,
      host,
      none,
      none,
      none,
      { backchannelDeliveries: counter, backchannelFailures: counter } as never,
      audit.asAuditService(),
      none,
      none,
      none,
      {} as BridgeConfig,
    );
  });

  const delivery = (id: string, attempts: number): Delivery => ({
    id,
    client_id: 'app_1',
    sub: 'user-1',
    sid: 'sid-1',
    attempts,
  });

  it('marks a sent token delivered and audits it', async () => {
    clients.app_1 = { backchannelLogoutUri: 'https://app.example.test/bc', backchannelLogout: jest.fn() };
    deliveries.due = [delivery('d1', 1)];
    expect(await service.deliverDue()).toEqual({ delivered: 1, failed: 0 });
    expect(clients.app_1.backchannelLogout).toHaveBeenCalledWith('user-1', 'sid-1');
    expect(deliveries.delivered).toEqual(['d1']);
    expect(audit.types()).toEqual(['logout.backchannel_delivered']);
  });

  it('retries a failed attempt after the next delay, and fails it (audited) after the last', async () => {
    const err = new OutboundError('refused', 'connection refused');
    clients.app_1 = {
      backchannelLogoutUri: 'https://app.example.test/bc',
      backchannelLogout: jest.fn().mockRejectedValue(err),
    };
    deliveries.due = [delivery('d1', 1), delivery('d2', BACKCHANNEL_RETRY_DELAYS_S.length + 1)];
    expect(await service.deliverDue()).toEqual({ delivered: 0, failed: 2 });
    expect(deliveries.failed).toEqual([
      {
        id: 'd1',
        error: 'refused: connection refused',
        status: 'pending',
        retryIn: BACKCHANNEL_RETRY_DELAYS_S[0],
      },
      { id: 'd2', error: 'refused: connection refused', status: 'failed', retryIn: 0 },
    ]);
    // Retries are not audited; the final failure is.
    expect(audit.types()).toEqual(['logout.backchannel_failed']);
  });

  it('fails at once, without retry, an app that no longer has a back-channel URI', async () => {
    clients.app_1 = { backchannelLogout: jest.fn() };
    deliveries.due = [delivery('d1', 1)];
    await service.deliverDue();
    expect(deliveries.failed).toEqual([expect.objectContaining({ id: 'd1', status: 'failed' })]);
    expect(clients.app_1.backchannelLogout).not.toHaveBeenCalled();
  });
});
