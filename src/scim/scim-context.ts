import type { AuditActor } from '../audit/audit-context';
import type { ConnectionEntity } from '../connections/connection.entity';
import { ScimError } from './scim-error';
import type { ScimTokenUse } from './scim-tokens.repository';
import type { ScimMatch } from './scim-user';

/** Who is calling the SCIM API: the connection its token belongs to, and the token. */
export interface ScimContext {
  connection: ConnectionEntity;
  token: ScimTokenUse;
  /** `{BASE_URL}/scim/v2/{slug}`: resource locations are under it. */
  baseUrl: string;
}

/** The audit log's actor for changes a SCIM token makes. */
export function scimActor(ctx: ScimContext): AuditActor {
  return { type: 'scim-token', id: ctx.token.id, name: `SCIM token ${ctx.token.prefix}…` };
}

/** The connection's matching rule: how a directory user is the same person as a SAML login. */
export function scimMatchOf(ctx: ScimContext): ScimMatch {
  return ctx.connection.options.scimMatch ?? 'externalId';
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** RFC 7644 §3.4.2.4 paging: 1-based startIndex (below 1 means 1), count clamped to the maximum. */
export function paging(query: { startIndex?: unknown; count?: unknown }): {
  startIndex: number;
  count: number;
} {
  const int = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (typeof v !== 'string' || !/^-?\d{1,9}$/.test(v) || !Number.isSafeInteger(n)) {
      throw ScimError.badRequest('invalidValue', `${name} is a whole number.`);
    }
    return n;
  };
  const startIndex = Math.max(1, int(query.startIndex, 'startIndex') ?? 1);
  const count = Math.min(MAX_PAGE_SIZE, Math.max(0, int(query.count, 'count') ?? DEFAULT_PAGE_SIZE));
  return { startIndex, count };
}

/** The `attributes` / `excludedAttributes` projection (RFC 7644 §3.4.2.5), on top-level attributes. */
export function projection(query: { attributes?: unknown; excludedAttributes?: unknown }) {
  const list = (v: unknown) =>
    typeof v === 'string' && v.trim()
      ? v
          .split(',')
          .map((a) => a.trim().replace(/^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i, ''))
          .map((a) => a.split('.')[0]?.toLowerCase() ?? '')
          .filter(Boolean)
      : [];
  const only = list(query.attributes);
  const except = list(query.excludedAttributes);
  const always = new Set(['id', 'schemas', 'meta']);
  return <T extends Record<string, unknown>>(resource: T): T => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(resource)) {
      const key = k.toLowerCase();
      if (!always.has(key) && only.length && !only.includes(key)) continue;
      if (!always.has(key) && except.includes(key)) continue;
      out[k] = v;
    }
    return out as T;
  };
}

/** Whether members must be read at all (Entra asks for groups with `excludedAttributes=members`). */
export function wantsAttribute(
  query: { attributes?: unknown; excludedAttributes?: unknown },
  attr: string,
): boolean {
  const probe = projection(query)({ [attr]: true });
  return attr in probe;
}
