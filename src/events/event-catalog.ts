/**
 * The public events the bridge publishes (GET /api/v1/events, webhooks), and how each is derived from the
 * audit event of the same change. Payloads carry ids and safe fields only: never secrets, SAML messages,
 * emails or subjects (a subscriber reads the user by id with the admin API when it needs more).
 */

export const EVENT_TYPES = [
  'connection.created',
  'connection.updated',
  'connection.deleted',
  'connection.activated',
  'connection.metadata_refresh_failed',
  'connection.certificate_expiring',
  'connection.certificate_expired',
  'sso.login_succeeded',
  'sso.login_failed',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.deprovisioned',
  'app.created',
  'app.deleted',
  'key.rotated',
  'audit.chain_broken',
  'webhook.endpoint_disabled',
  'webhook.test',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** An event to append: the stream's row. */
export interface NewEvent {
  type: EventType;
  connectionId?: string | null;
  data: Record<string, unknown>;
  /** The event happens once for this key, whichever instance sees it first (ON CONFLICT DO NOTHING). */
  dedupeKey?: string;
}

/** The fields of an audit event the catalog reads. */
export interface AuditFacts {
  type: string;
  connectionId?: string | null;
  userId?: string | null;
  clientId?: string | null;
  data?: Record<string, unknown>;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The public events an audit event stands for (most stand for none). */
export function eventsForAudit(a: AuditFacts): NewEvent[] {
  const d = a.data ?? {};
  const after = (d.after ?? {}) as Record<string, unknown>;
  const before = (d.before ?? {}) as Record<string, unknown>;
  const connectionId = a.connectionId ?? null;
  const conn = { connectionId };
  switch (a.type) {
    case 'connection.created':
      return [
        {
          type: 'connection.created',
          ...conn,
          data: { connectionId, slug: str(after.slug), name: str(after.name) },
        },
      ];
    case 'connection.updated':
      return [
        {
          type: 'connection.updated',
          ...conn,
          data: {
            connectionId,
            slug: str(d.slug),
            operation: str(d.operation),
            changed: Object.keys(after).sort(),
          },
        },
      ];
    case 'connection.deleted':
      return [{ type: 'connection.deleted', ...conn, data: { connectionId, slug: str(d.slug) } }];
    case 'connection.metadata_refresh_failed':
      return [
        {
          type: 'connection.metadata_refresh_failed',
          ...conn,
          data: { connectionId, slug: str(d.slug), code: str(d.code), expired: d.expired === true },
        },
      ];
    case 'login.succeeded':
      return [
        {
          type: 'sso.login_succeeded',
          ...conn,
          data: {
            connectionId,
            slug: str(d.connection),
            userId: a.userId ?? null,
            clientId: a.clientId ?? null,
          },
        },
        {
          type: 'connection.activated',
          ...conn,
          data: { connectionId, slug: str(d.connection), firstUserId: a.userId ?? null },
          dedupeKey: `connection.activated:${connectionId}`,
        },
      ];
    case 'login.failed':
      return [
        {
          type: 'sso.login_failed',
          ...conn,
          data: {
            connectionId,
            slug: str(d.connection),
            userId: a.userId ?? null,
            reason: str(d.reason),
            stage: str(d.stage),
            traceId: str(d.traceId),
          },
        },
      ];
    case 'user.provisioned':
      return [
        { type: 'user.created', ...conn, data: { connectionId, userId: a.userId ?? null, source: 'saml' } },
      ];
    case 'scim.user_created':
      return [
        { type: 'user.created', ...conn, data: { connectionId, userId: a.userId ?? null, source: 'scim' } },
      ];
    case 'scim.user_updated':
    case 'scim.user_reactivated':
      return [
        {
          type: 'user.updated',
          ...conn,
          data: {
            connectionId,
            userId: a.userId ?? null,
            source: 'scim',
            reactivated: a.type === 'scim.user_reactivated',
          },
        },
      ];
    case 'user.disabled':
      return [{ type: 'user.disabled', ...conn, data: { connectionId, userId: a.userId ?? null } }];
    case 'scim.user_deactivated':
    case 'scim.user_deleted':
      return [
        {
          type: 'user.deprovisioned',
          ...conn,
          data: { connectionId, userId: a.userId ?? null, deleted: a.type === 'scim.user_deleted' },
        },
      ];
    case 'app.created':
      return [
        { type: 'app.created', data: { clientId: a.clientId ?? null, name: str(after.name) ?? str(d.name) } },
      ];
    case 'app.deleted':
      return [
        {
          type: 'app.deleted',
          data: { clientId: a.clientId ?? null, name: str(d.name) ?? str(before.name) },
        },
      ];
    case 'oidc_keys.rotated':
      return [
        { type: 'key.rotated', data: { kind: 'oidc_signing', keys: Array.isArray(d.keys) ? d.keys : [] } },
      ];
    case 'sp_key.promoted':
      return [
        {
          type: 'key.rotated',
          ...conn,
          data: {
            kind: 'sp',
            connectionId,
            current: (d.current as Record<string, unknown> | undefined)?.fingerprint ?? null,
          },
        },
      ];
    default:
      return [];
  }
}

/** What `types=` may name: known types, or a prefix ending with a dot (`connection.`). */
export function isEventTypeFilter(value: string): boolean {
  return (
    (EVENT_TYPES as readonly string[]).includes(value) ||
    EVENT_TYPES.some((t) => value.endsWith('.') && t.startsWith(value))
  );
}
