/**
 * The directory-sync part of `npm run bench` (PostgreSQL): an initial SCIM sync in the pattern Entra ID's
 * provisioning service uses (for each user: look up by userName, then create; then for each group: look up
 * by displayName, create, and add its members by PATCH in batches), and the login rate while a sync runs.
 */
import { adminCall } from './bench-bridge';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** Entra ID adds group members in PATCH requests of this many. */
const MEMBER_BATCH = 50;

export interface ScimSyncPlan {
  users: number;
  groups: number;
  /** Members of each group (taken from the synced users, round robin). */
  membersPerGroup: number;
  concurrency: number;
}

export interface ScimClient {
  request: (
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; body: Record<string, unknown> }>;
}

/** A SCIM client of the bench connection, with a fresh token. */
export async function scimClient(base: string, connectionId: string, slug: string): Promise<ScimClient> {
  const { token } = await adminCall<{ token: string }>(
    base,
    'POST',
    `/api/v1/connections/${connectionId}/scim-tokens`,
    {
      description: 'bench',
    },
  );
  return {
    request: async (method, path, body) => {
      const res = await fetch(`${base}/scim/v2/${slug}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
  };
}

/** The body Entra ID sends to create a user (its documented example, with enterprise attributes). */
export function entraUser(i: number, prefix: string): Record<string, unknown> {
  return {
    schemas: [USER, ENTERPRISE],
    externalId: `${prefix}-object-${i}`,
    userName: `${prefix}.user${i}@bench.example`,
    active: true,
    displayName: `Bench User ${i}`,
    emails: [{ primary: true, type: 'work', value: `${prefix}.user${i}@bench.example` }],
    meta: { resourceType: 'User' },
    name: { formatted: `Bench User ${i}`, familyName: `User ${i}`, givenName: 'Bench' },
    title: 'Engineer',
    [ENTERPRISE]: { department: `Dept ${i % 40}`, employeeNumber: String(100000 + i) },
  };
}

function expect(status: number, wanted: number, what: string): void {
  if (status !== wanted) throw new Error(`${what}: HTTP ${status}, expected ${wanted}`);
}

/** Runs `count` operations on `concurrency` workers; resolves with the per-operation latencies (ms). */
export async function runAll(
  count: number,
  concurrency: number,
  op: (i: number) => Promise<void>,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

/** One user as Entra syncs it: a filter lookup (nobody yet), then the create. Returns the new id. */
export async function syncUser(scim: ScimClient, i: number, prefix: string): Promise<string> {
  const userName = `${prefix}.user${i}@bench.example`;
  const found = await scim.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
  expect(found.status, 200, 'user lookup');
  const created = await scim.request('POST', '/Users', entraUser(i, prefix));
  expect(created.status, 201, 'user create');
  return created.body.id as string;
}

/** One group as Entra syncs it: lookup, create, then its members by PATCH in batches. */
export async function syncGroup(
  scim: ScimClient,
  g: number,
  members: string[],
  prefix: string,
): Promise<number> {
  const displayName = `${prefix} group ${g}`;
  const found = await scim.request(
    'GET',
    `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`,
  );
  expect(found.status, 200, 'group lookup');
  const created = await scim.request('POST', '/Groups', {
    schemas: [GROUP],
    externalId: `${prefix}-group-${g}`,
    displayName,
    meta: { resourceType: 'Group' },
  });
  expect(created.status, 201, 'group create');
  let requests = 2;
  for (let k = 0; k < members.length; k += MEMBER_BATCH) {
    const patched = await scim.request('PATCH', `/Groups/${created.body.id as string}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Add', path: 'members', value: members.slice(k, k + MEMBER_BATCH).map((value) => ({ value })) },
      ],
    });
    expect(patched.status, 200, 'group members');
    requests++;
  }
  return requests;
}
