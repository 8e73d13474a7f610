import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MetricsRepository } from './metrics.repository';
import { ownThreadId, threadCpuSeconds } from './thread-cpu';

/** Prometheus metrics of the bridge, on a registry of its own (served at /metrics). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'bridge_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly logins = new Counter({
    name: 'bridge_saml_logins_total',
    help: 'SAML logins by connection and result (success, or the rejection reason)',
    labelNames: ['connection', 'result'] as const,
    registers: [this.registry],
  });

  readonly tokenGrants = new Counter({
    name: 'bridge_oidc_token_grants_total',
    help: 'Tokens issued at the token endpoint, by grant type',
    labelNames: ['grant_type'] as const,
    registers: [this.registry],
  });

  readonly metadataRefreshes = new Counter({
    name: 'bridge_metadata_refreshes_total',
    help: 'Metadata URL refreshes by connection and result',
    labelNames: ['connection', 'result'] as const,
    registers: [this.registry],
  });

  readonly backchannelDeliveries = new Counter({
    name: 'bridge_backchannel_logout_deliveries_total',
    help: 'Back-channel logout token deliveries by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** Refused replays of single-use OIDC artefacts: lost races (`concurrent`) and later reuse (`sequential`). */
  readonly singleUseReplays = new Counter({
    name: 'bridge_single_use_replays_total',
    help: 'Refused replays of authorization codes and rotated refresh tokens (the grant is revoked), by artefact and timing',
    labelNames: ['artefact', 'timing'] as const,
    registers: [this.registry],
  });

  /** Users the directory (SCIM) deactivated or deleted, signed out of every app, or not (failed). */
  readonly directoryDeprovisionings = new Counter({
    name: 'bridge_directory_deprovisionings_total',
    help: 'Users deactivated or deleted by directory sync (SCIM) and signed out everywhere, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** Why back-channel logout deliveries failed (dns, refused, timeout, tls, status_N, blocked_by_policy…). */
  readonly backchannelFailures = new Counter({
    name: 'bridge_backchannel_logout_failures_total',
    help: 'Failed back-channel logout deliveries by cause',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });

  /** Every request the bridge sends (outbound policy), by purpose and outcome (ok, status_N or cause). */
  readonly outboundRequests = new Counter({
    name: 'bridge_outbound_requests_total',
    help: 'Outbound HTTP requests by purpose and result',
    labelNames: ['purpose', 'result'] as const,
    registers: [this.registry],
  });

  /** Webhook delivery attempts, by result (delivered, failed). */
  readonly webhookDeliveries = new Counter({
    name: 'bridge_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** Audit events that could not be appended (logins and logouts go on; admin changes are refused). */
  readonly auditAppendFailures = new Counter({
    name: 'bridge_audit_append_failures_total',
    help: 'Audit events that could not be written, by event type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  /** Committed audit events whose chaining right after the commit failed: they wait for the sweep. */
  readonly auditLeftQueued = new Counter({
    name: 'bridge_audit_left_queued_total',
    help: 'Audit events committed with their change but not chained right after it (the sweep chains them), by event type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  /** Audit events the sweep chained (their instance had left them queued). */
  readonly auditSwept = new Counter({
    name: 'bridge_audit_swept_total',
    help: 'Audit events chained by the sweep because their instance had left them queued',
    registers: [this.registry],
  });

  /** Threads whose CPU time is reported, by label: how to read their CPU seconds so far. */
  private readonly threadCpu = new Map<string, () => number | undefined>();

  constructor(reads: MetricsRepository) {
    collectDefaultMetrics({ register: this.registry, prefix: 'bridge_' });
    // The thread that builds this service runs the event loop.
    const loop = ownThreadId();
    if (loop !== undefined) this.threadCpu.set('event_loop', () => threadCpuSeconds(loop));
    const threadCpu = this.threadCpu;
    const reported = new Map<string, number>();
    new Counter({
      name: 'bridge_thread_cpu_seconds_total',
      help: 'CPU seconds (user + system) used by the event loop and by the SAML engine threads (Linux); the rest of process_cpu_seconds_total is V8 (garbage collection) and libuv helper threads',
      labelNames: ['thread'] as const,
      registers: [this.registry],
      collect() {
        for (const [thread, read] of threadCpu) {
          const now = read();
          if (now === undefined) continue;
          const before = reported.get(thread) ?? 0;
          // An increment of 0 still shows the series (e.g. no engine worker has started yet).
          this.inc({ thread }, Math.max(0, now - before));
          if (now > before) reported.set(thread, now);
        }
      },
    });
    new Gauge({
      name: 'bridge_idp_certificate_days_left',
      help: 'Days until the soonest-expiring IdP signing certificate of each connection expires',
      labelNames: ['connection'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const rows = await reads.certificateExpiries();
        for (const r of rows) {
          if (r.not_after)
            this.set({ connection: r.slug }, Math.floor((Date.parse(r.not_after) - Date.now()) / 86_400_000));
        }
      },
    });
    new Gauge({
      name: 'bridge_metadata_status',
      help: 'Metadata state of each connection (1 = ok, 0 = refresh failed or expired)',
      labelNames: ['connection', 'status'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const rows = await reads.metadataStatuses();
        for (const r of rows)
          this.set({ connection: r.slug, status: r.metadata_status }, r.metadata_status === 'ok' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'bridge_db_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const pool = reads.poolCounts();
        if (!pool) return;
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
  }

  /** Reports the CPU time of a group of threads as bridge_thread_cpu_seconds_total{thread}. */
  trackThreadCpu(thread: string, read: () => number | undefined): void {
    this.threadCpu.set(thread, read);
  }

  /** Express middleware timing every request, labelled by the matched route (never the raw path). */
  middleware() {
    return (
      req: import('express').Request,
      res: import('express').Response,
      next: import('express').NextFunction,
    ): void => {
      const end = this.httpDuration.startTimer();
      res.on('finish', () => {
        const route = (req.route as { path?: string } | undefined)?.path;
        const label = route
          ? `${req.baseUrl}${route}`
          : req.path.startsWith('/oidc/')
            ? req.path
                .replace(/\/oidc\/interaction\/[^/]+/, '/oidc/interaction/:uid')
                .replace(/\/oidc\/auth\/[^/]+/, '/oidc/auth/:uid')
            : req.path === '/.well-known/openid-configuration'
              ? req.path
              : 'unmatched';
        end({ method: req.method, route: label, status: String(res.statusCode) });
      });
      next();
    };
  }
}
