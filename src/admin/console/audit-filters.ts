import { decodeCursor, encodeCursor, toFilter } from '../../audit/audit-query';
import { ListAuditQuery } from '../../audit/audit.dto';
import type { AuditEvent, AuditService } from '../../audit/audit.service';
import { refusalOf } from '../../common/error-status';
import type { FieldErrors } from '../../web/components/fields';
import { validateForm } from './console-forms';

/** Events per page of the console's audit log. */
const PAGE_SIZE = 50;
const FILTERS = ['from', 'to', 'type', 'actorType', 'actor', 'connectionId', 'userId', 'clientId'] as const;
type FilterName = (typeof FILTERS)[number];

/** The audit log's filters as typed. */
export type AuditFilterValues = Partial<Record<FilterName, string>>;

/** The query's filters as typed (trimmed; blank and repeated values dropped). */
export function auditFilterValues(query: Record<string, unknown>): AuditFilterValues {
  const out: AuditFilterValues = {};
  for (const name of FILTERS) {
    const v = query[name];
    if (typeof v === 'string' && v.trim() !== '') out[name] = v.trim().slice(0, 200);
  }
  return out;
}

/** A datetime-local value (no zone) is read as UTC; a full ISO 8601 instant is kept as is. */
function instant(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return `${value}:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(value)) return `${value}Z`;
  return value;
}

/** The filters (and a page) as a query string ('' when there is none). */
export function auditQueryString(values: AuditFilterValues, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...values, ...extra })) if (v) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Validates the filters with the API's rules; field errors are returned, not thrown. */
export async function parseAuditFilters(
  values: AuditFilterValues,
  cursor?: unknown,
): Promise<{ query: ListAuditQuery; errors: FieldErrors }> {
  const { dto, errors } = await validateForm(ListAuditQuery, {
    ...values,
    from: instant(values.from),
    to: instant(values.to),
    ...(typeof cursor === 'string' && cursor ? { cursor } : {}),
  });
  return { query: dto, errors };
}

/** One page of the console's audit log: its events, the cursor of the older page, or why there is none. */
export interface AuditConsolePage {
  query: ListAuditQuery;
  errors: FieldErrors;
  events: AuditEvent[];
  older?: string;
  error?: string;
}

/** The page the filters and cursor ask for; invalid filters or a foreign cursor are shown, not thrown. */
export async function auditConsolePage(
  audit: AuditService,
  values: AuditFilterValues,
  cursor: unknown,
): Promise<AuditConsolePage> {
  const { query, errors } = await parseAuditFilters(values, cursor);
  if (Object.keys(errors).length > 0)
    return {
      query,
      errors,
      events: [],
      error: 'The filters were not applied: fix the fields marked below.',
    };
  try {
    const page = await audit.list(toFilter(query), {
      beforeSeq: query.cursor !== undefined ? decodeCursor(query.cursor) : undefined,
      limit: PAGE_SIZE,
    });
    return {
      query,
      errors,
      events: page.items,
      older: page.nextBeforeSeq !== undefined ? encodeCursor(page.nextBeforeSeq) : undefined,
    };
  } catch (err) {
    // A cursor that is not one of ours: shown on the page, like a bad filter.
    const refusal = refusalOf(err);
    if (!refusal) throw err;
    return { query, errors, events: [], error: refusal.message };
  }
}
