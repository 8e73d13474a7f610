import { SCIM, ScimError } from './scim-error';
import type { FilterSchema } from './scim-filter';
import type { Json, JsonObject, PatchSchema } from './scim-patch';
import { checkSchemas } from './scim-user';

export const MAX_GROUP_MEMBERS_PER_REQUEST = 10_000;

export const GROUP_PATCH_SCHEMA: PatchSchema = {
  coreSchema: SCIM.group,
  extensions: [],
  attributes: ['displayName', 'externalId', 'members', 'id', 'meta'],
  readOnly: ['id', 'meta'],
  multiValued: ['members'],
};

export const GROUP_FILTER_SCHEMA: FilterSchema = {
  coreSchema: SCIM.group,
  columns: {
    id: { sql: 'g.id::text', caseExact: true },
    displayname: { sql: 'g.display_name' },
    externalid: { sql: 'g.external_id', caseExact: true },
  },
  arrays: {},
  memberships: {
    members: {
      exists: (v) =>
        `EXISTS (SELECT 1 FROM scim_group_members m WHERE m.group_id = g.id AND m.user_id::text = ${v})`,
    },
  },
};

export interface NormalizedGroup {
  displayName: string;
  externalId: string | null;
  /** Member user ids, once each. */
  members: string[];
}

export interface StoredGroup {
  id: string;
  displayName: string;
  externalId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface GroupMember {
  id: string;
  display: string;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function get(obj: JsonObject, name: string): Json | undefined {
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

/** Validates a Group body (POST, PUT, or the result of a PATCH). Member ids are checked by the service. */
export function normalizeGroup(body: unknown): NormalizedGroup {
  if (!isObject(body)) throw ScimError.badRequest('invalidSyntax', 'A Group is a JSON object.');
  checkSchemas(body, SCIM.group, []);
  const displayName = get(body, 'displayName');
  if (typeof displayName !== 'string' || !displayName.trim()) {
    throw ScimError.badRequest('invalidValue', 'displayName is required.');
  }
  if (displayName.length > 256)
    throw ScimError.badRequest('invalidValue', 'displayName is longer than 256 characters.');
  const externalId = get(body, 'externalId');
  if (
    externalId !== undefined &&
    externalId !== null &&
    (typeof externalId !== 'string' || externalId.length > 512)
  ) {
    throw ScimError.badRequest('invalidValue', 'externalId is a string of at most 512 characters.');
  }
  const members = get(body, 'members') ?? [];
  if (!Array.isArray(members)) throw ScimError.badRequest('invalidValue', 'members is a list.');
  if (members.length > MAX_GROUP_MEMBERS_PER_REQUEST) {
    throw new ScimError(413, `A request sets at most ${MAX_GROUP_MEMBERS_PER_REQUEST} members.`, 'tooMany');
  }
  const ids = members.map((m, i) => {
    const value = isObject(m) ? get(m, 'value') : m;
    if (typeof value !== 'string' || !UUID.test(value)) {
      throw ScimError.badRequest(
        'invalidValue',
        `members[${i}].value is the id of a User of this connection.`,
      );
    }
    return value.toLowerCase();
  });
  return {
    displayName: displayName.trim(),
    externalId: typeof externalId === 'string' && externalId ? externalId : null,
    members: [...new Set(ids)],
  };
}

export function patchableGroup(g: StoredGroup, members: string[]): JsonObject {
  return {
    displayName: g.displayName,
    ...(g.externalId !== null ? { externalId: g.externalId } : {}),
    members: members.map((value) => ({ value })),
  };
}

export function groupResource(
  g: StoredGroup,
  baseUrl: string,
  members: GroupMember[] | undefined,
): JsonObject {
  return {
    schemas: [SCIM.group],
    id: g.id,
    displayName: g.displayName,
    ...(g.externalId !== null ? { externalId: g.externalId } : {}),
    ...(members
      ? {
          members: members.map((m) => ({
            value: m.id,
            display: m.display,
            $ref: `${baseUrl}/Users/${m.id}`,
          })),
        }
      : {}),
    meta: {
      resourceType: 'Group',
      created: g.createdAt.toISOString(),
      lastModified: g.updatedAt.toISOString(),
      location: `${baseUrl}/Groups/${g.id}`,
      version: `W/"${g.updatedAt.getTime().toString(36)}"`,
    },
  };
}
