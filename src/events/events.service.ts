import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { ConnectionsService } from '../connections/connections.service';
import { PeriodicJobs } from '../database/periodic-jobs';
import { SpKeysService } from '../keys/sp-keys.service';
import type { NewEvent } from './event-catalog';
import { EventsRepository, type StoredEvent } from './events.repository';

/** Days before a certificate's end at which `connection.certificate_expiring` fires, once each. */
export const EXPIRY_THRESHOLDS_DAYS = [30, 14, 7, 1];
const DAY_MS = 86_400_000;

/** The smallest threshold a certificate with `daysLeft` has crossed (undefined: none yet). */
export function crossedThreshold(daysLeft: number): number | undefined {
  return [...EXPIRY_THRESHOLDS_DAYS].sort((a, b) => a - b).find((t) => daysLeft <= t);
}

/**
 * The event stream: appended by the audit log with each change (see event-catalog), and by the jobs here
 * for what no request does — certificates crossing an expiry threshold, a broken audit chain — once per
 * instance fleet (dedupe keys). Old events are purged after EVENTS_RETENTION_DAYS.
 */
@Injectable()
export class EventsService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Events');

  constructor(
    private readonly events: EventsRepository,
    private readonly connections: ConnectionsService,
    private readonly spKeys: SpKeysService,
    private readonly audit: AuditService,
    private readonly jobs: PeriodicJobs,
    private readonly clock: Clock,
    @Inject(BRIDGE_CONFIG) private readonly config: BridgeConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.schedule({
      name: 'certificate-expiry',
      periodMs: 6 * 3600_000,
      run: () => this.checkCertificates(),
    });
    this.jobs.schedule({ name: 'audit-chain-check', periodMs: DAY_MS, run: () => this.checkAuditChain() });
    this.jobs.schedule({ name: 'events-purge', periodMs: 3600_000, run: () => this.purge() });
  }

  emit(events: NewEvent[]): Promise<void> {
    return this.events.append(events);
  }

  list(types: string[], after: string | undefined, limit: number): Promise<StoredEvent[]> {
    return this.events.page(types, after, limit);
  }

  recent(types: string[], connectionId: string | undefined, limit: number): Promise<StoredEvent[]> {
    return this.events.recent(types, connectionId, limit);
  }

  /**
   * Emits `connection.certificate_expiring` for every IdP signing certificate and live SP key that crossed
   * a threshold (30, 14, 7, 1 days), and `connection.certificate_expired` for those past their end — each
   * once, whichever instance runs the job first. Returns how many events were due (before deduplication).
   */
  async checkCertificates(now = this.clock.now()): Promise<number> {
    const horizon = new Date(now.getTime() + Math.max(...EXPIRY_THRESHOLDS_DAYS) * DAY_MS);
    const due: NewEvent[] = [];
    const add = (
      c: { connectionId: string; slug: string },
      kind: 'idp_signing' | 'sp',
      fingerprint: string,
      notAfter: Date,
    ) => {
      const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
      const base = {
        connectionId: c.connectionId,
        slug: c.slug,
        kind,
        fingerprint,
        notAfter: notAfter.toISOString(),
      };
      if (notAfter.getTime() <= now.getTime()) {
        due.push({
          type: 'connection.certificate_expired',
          connectionId: c.connectionId,
          data: base,
          dedupeKey: `certificate_expired:${c.connectionId}:${kind}:${fingerprint}`,
        });
        return;
      }
      const threshold = crossedThreshold(daysLeft);
      if (threshold === undefined) return;
      due.push({
        type: 'connection.certificate_expiring',
        connectionId: c.connectionId,
        data: { ...base, daysLeft, threshold },
        dedupeKey: `certificate_expiring:${c.connectionId}:${kind}:${fingerprint}:${threshold}`,
      });
    };
    const slugs = new Map<string, string>();
    for (let offset = 0; ; offset += 500) {
      const { items } = await this.connections.list({ limit: 500, offset });
      for (const c of items) {
        slugs.set(c.id, c.slug);
        for (const cert of c.idp?.signingCertificates ?? []) {
          const notAfter = new Date(cert.notAfter);
          if (notAfter < horizon)
            add({ connectionId: c.id, slug: c.slug }, 'idp_signing', cert.fingerprintSha256, notAfter);
        }
      }
      if (items.length < 500) break;
    }
    for (const k of await this.spKeys.expiringBefore(horizon)) {
      const slug = slugs.get(k.connectionId);
      if (slug)
        add(
          { connectionId: k.connectionId, slug },
          'sp',
          new X509Certificate(k.pem).fingerprint256,
          k.notAfter,
        );
    }
    await this.events.append(due);
    return due.length;
  }

  /** Verifies the audit chain; a break is the event `audit.chain_broken` (once per broken position). */
  async checkAuditChain(): Promise<boolean> {
    const result = await this.audit.verify();
    if (result.ok) return true;
    this.logger.error(`The audit chain is broken at seq ${result.firstBrokenSeq} (${result.reason})`);
    await this.events.append([
      {
        type: 'audit.chain_broken',
        data: { firstBrokenSeq: result.firstBrokenSeq, reason: result.reason, checked: result.checked },
        dedupeKey: `audit.chain_broken:${result.firstBrokenSeq}:${result.reason}`,
      },
    ]);
    return false;
  }

  purge(): Promise<number> {
    return this.events.purgeBefore(
      new Date(this.clock.now().getTime() - this.config.eventsRetentionDays * DAY_MS),
    );
  }
}
