import type { UserEntity } from '../users/user.entity';
import { SCIM, ScimError } from './scim-error';
import type { FilterSchema } from './scim-filter';
import type { Json, JsonObject, PatchSchema } from './scim-patch';
import { displayNameOf } from '../users/display-name';

/** How a directory user is matched to the SAML logins of the same person (the user's `subject`). */
export type ScimMatch = 'externalId' | 'userName';

export const MULTI_VALUED = [
  'emails',
  'phoneNumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509Certificates',
];
export const SINGLE_STRINGS = [
  'displayName',
  'nickName',
  'profileUrl',
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
];
export const NAME_PARTS = [
  'formatted',
  'familyName',
  'givenName',
  'middleName',
  'honorificPrefix',
  'honorificSuffix',
];
export const ENTERPRISE_STRINGS = ['employeeNumber', 'costCenter', 'organization', 'division', 'department'];

export const USER_PATCH_SCHEMA: PatchSchema = {
  coreSchema: SCIM.user,
  extensions: [SCIM.enterprise],
  attributes: [
    'userName',
    'externalId',
    'name',
    'active',
    'password',
    'groups',
    'id',
    'meta',
    ...MULTI_VALUED,
    ...SINGLE_STRINGS,
  ],
  readOnly: ['id', 'meta', 'groups'],
  multiValued: [...MULTI_VALUED, 'groups'].map((a) => a.toLowerCase()),
};

/** What a user can be filtered on (RFC 7643 case rules: userName and emails are caseExact=false). */
export const USER_FILTER_SCHEMA: FilterSchema = {
  coreSchema: SCIM.user,
  columns: {
    id: { sql: 'u.id::text', caseExact: true },
    username: { sql: 'u.user_name' },
    externalid: { sql: 'u.external_id', caseExact: true },
    displayname: { sql: "u.scim_resource->>'displayName'" },
    active: { sql: 'u.scim_active', type: 'boolean' },
    'name.givenname': { sql: "u.scim_resource->'name'->>'givenName'" },
    'name.familyname': { sql: "u.scim_resource->'name'->>'familyName'" },
    'name.formatted': { sql: "u.scim_resource->'name'->>'formatted'" },
    title: { sql: "u.scim_resource->>'title'" },
    [`${SCIM.enterprise}:employeenumber`.toLowerCase()]: {
      sql: `u.scim_resource->'${SCIM.enterprise}'->>'employeeNumber'`,
      caseExact: true,
    },
    [`${SCIM.enterprise}:department`.toLowerCase()]: {
      sql: `u.scim_resource->'${SCIM.enterprise}'->>'department'`,
    },
  },
  arrays: {
    emails: {
      jsonb: "u.scim_resource->'emails'",
      defaultSub: 'value',
      subs: {
        value: { key: 'value', caseExact: false },
        type: { key: 'type', caseExact: false },
        primary: { key: 'primary', caseExact: false, type: 'boolean' },
      },
    },
  },
  memberships: {},
};

export interface NormalizedUser {
  userName: string;
  externalId: string | null;
  active: boolean;
  /** The stored resource: every known attribute but userName, externalId, active, id, meta, groups, password. */
  resource: JsonObject;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (message: string) => ScimError.badRequest('invalidValue', message);

/** Entra sends booleans as "True" / "False". */
export function scimBoolean(v: unknown, what: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw invalid(`${what} is true or false.`);
}

function str(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string') throw invalid(`${what} is a string.`);
  if (v.length > max) throw invalid(`${what} is longer than ${max} characters.`);
  return v;
}

function get(obj: JsonObject, name: string): Json | undefined {
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

/** Checks the `schemas` list of a request body: the core schema, and only extensions the bridge knows. */
export function checkSchemas(body: JsonObject, core: string, known: string[]): void {
  const schemas = get(body, 'schemas');
  if (schemas === undefined) return;
  if (!Array.isArray(schemas) || schemas.some((s) => typeof s !== 'string')) {
    throw ScimError.badRequest('invalidSyntax', '"schemas" is a list of schema URNs.');
  }
  const unknown = (schemas as string[]).filter(
    (s) => ![core, ...known].some((k) => k.toLowerCase() === s.toLowerCase()),
  );
  if (unknown.length)
    throw invalid(
      `Unknown schema ${JSON.stringify(unknown[0])}: this resource has ${[core, ...known].join(', ')}.`,
    );
  if (!(schemas as string[]).some((s) => s.toLowerCase() === core.toLowerCase())) {
    throw invalid(`"schemas" must include ${core}.`);
  }
}

function multiValued(v: Json, what: string): JsonObject[] {
  if (!Array.isArray(v)) throw invalid(`${what} is a list.`);
  if (v.length > 100) throw invalid(`${what} has more than 100 values.`);
  return v.map((e, i) => {
    if (!isObject(e)) throw invalid(`${what}[${i}] is an object.`);
    const out: JsonObject = {};
    for (const [k, val] of Object.entries(e)) {
      if (k.toLowerCase() === 'primary') out.primary = scimBoolean(val, `${what}[${i}].primary`);
      else if (typeof val === 'string') out[k] = str(val, `${what}[${i}].${k}`, 2048);
      else if (val === null) continue;
      else if (typeof val === 'boolean' || typeof val === 'number') out[k] = val;
      else if (isObject(val) && k.toLowerCase() !== '$ref') out[k] = val;
    }
    return out;
  });
}

/** Validates a User body (POST, PUT, or the result of a PATCH); ScimError with the reason otherwise. */
export function normalizeUser(body: unknown): NormalizedUser {
  if (!isObject(body)) throw ScimError.badRequest('invalidSyntax', 'A User is a JSON object.');
  checkSchemas(body, SCIM.user, [SCIM.enterprise]);
  const userName = get(body, 'userName');
  if (typeof userName !== 'string' || !userName.trim()) throw invalid('userName is required.');
  const externalId = get(body, 'externalId');
  const active = get(body, 'active');
  const resource: JsonObject = {};
  for (const attr of SINGLE_STRINGS) {
    const v = get(body, attr);
    if (v !== undefined && v !== null) resource[attr] = str(v, attr, 1024);
  }
  const name = get(body, 'name');
  if (name !== undefined && name !== null) {
    if (!isObject(name)) throw invalid('name is an object.');
    const out: JsonObject = {};
    for (const part of NAME_PARTS) {
      const v = get(name, part);
      if (v !== undefined && v !== null) out[part] = str(v, `name.${part}`, 256);
    }
    resource.name = out;
  }
  for (const attr of MULTI_VALUED) {
    const v = get(body, attr);
    if (v !== undefined && v !== null) resource[attr] = multiValued(v, attr);
  }
  const emails = resource.emails as JsonObject[] | undefined;
  for (const e of emails ?? []) {
    if (typeof e.value !== 'string' || e.value.length > 320)
      throw invalid('Every email has a value of at most 320 characters.');
  }
  const ext = get(body, SCIM.enterprise);
  if (ext !== undefined && ext !== null) {
    if (!isObject(ext)) throw invalid(`${SCIM.enterprise} is an object.`);
    const out: JsonObject = {};
    for (const attr of ENTERPRISE_STRINGS) {
      const v = get(ext, attr);
      if (v !== undefined && v !== null) out[attr] = str(v, attr, 256);
    }
    const manager = get(ext, 'manager');
    // Entra replaces the manager with a plain id string; the schema's form is {value, displayName}.
    if (typeof manager === 'string' && manager) out.manager = { value: str(manager, 'manager', 512) };
    else if (isObject(manager)) {
      const value = get(manager, 'value');
      if (value !== undefined && value !== null) {
        out.manager = { value: str(value, 'manager.value', 512) };
        const display = get(manager, 'displayName');
        if (typeof display === 'string')
          (out.manager as JsonObject).displayName = str(display, 'manager.displayName', 512);
      }
    } else if (manager !== undefined && manager !== null && manager !== '') {
      throw invalid('manager is an object with a value.');
    }
    if (Object.keys(out).length) resource[SCIM.enterprise] = out;
  }
  return {
    userName: str(userName.trim(), 'userName', 512),
    externalId:
      externalId === undefined || externalId === null || externalId === ''
        ? null
        : str(externalId, 'externalId', 512),
    active: active === undefined || active === null ? true : scimBoolean(active, 'active'),
    resource,
  };
}

/** The subject a directory user is matched by, under the connection's rule. */
export function matchSubject(user: NormalizedUser, match: ScimMatch): string {
  if (match === 'userName') return user.userName;
  if (!user.externalId) {
    throw invalid(
      "externalId is required: this connection matches directory users to SAML logins by externalId (the IdP's stable id).",
    );
  }
  return user.externalId;
}

/** The profile columns of the users row, from the resource (the same fields a SAML login maps). */
export function profileOf(user: NormalizedUser, domains: string[]) {
  const r = user.resource;
  const emails = (r.emails as JsonObject[] | undefined) ?? [];
  const chosen =
    emails.find((e) => e.primary === true) ??
    emails.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ??
    emails[0];
  const email = typeof chosen?.value === 'string' ? chosen.value : null;
  const domain = email?.split('@')[1]?.toLowerCase() ?? '';
  const name = (r.name as JsonObject | undefined) ?? {};
  const givenName = typeof name.givenName === 'string' ? name.givenName : null;
  const familyName = typeof name.familyName === 'string' ? name.familyName : null;
  const displayName = displayNameOf({
    displayName:
      (typeof r.displayName === 'string' && r.displayName) ||
      (typeof name.formatted === 'string' && name.formatted) ||
      null,
    givenName,
    familyName,
  });
  return {
    email,
    emailVerified: Boolean(email) && domains.map((d) => d.toLowerCase()).includes(domain),
    givenName,
    familyName,
    displayName,
  };
}

/** The representation of a user as PATCH sees it (what the directory sent, with its writable attributes). */
export function patchableUser(u: UserEntity): JsonObject {
  return {
    ...((u.scimResource ?? {}) as JsonObject),
    userName: u.userName ?? '',
    ...(u.externalId !== null ? { externalId: u.externalId } : {}),
    active: u.scimActive !== false,
  };
}

export interface ScimGroupRef {
  id: string;
  displayName: string;
}

/** The User resource the API answers with. */
export function userResource(u: UserEntity, baseUrl: string, groups: ScimGroupRef[]): JsonObject {
  const resource = (u.scimResource ?? {}) as JsonObject;
  return {
    schemas: resource[SCIM.enterprise] ? [SCIM.user, SCIM.enterprise] : [SCIM.user],
    id: u.id,
    ...(u.externalId !== null ? { externalId: u.externalId } : {}),
    userName: u.userName ?? '',
    ...resource,
    active: u.scimActive !== false,
    groups: groups.map((g) => ({ value: g.id, display: g.displayName, $ref: `${baseUrl}/Groups/${g.id}` })),
    meta: {
      resourceType: 'User',
      created: u.createdAt.toISOString(),
      lastModified: (u.lastSyncedAt ?? u.updatedAt).toISOString(),
      location: `${baseUrl}/Users/${u.id}`,
      version: `W/"${(u.lastSyncedAt ?? u.updatedAt).getTime().toString(36)}"`,
    },
  };
}
