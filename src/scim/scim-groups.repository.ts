import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { pagedQuery } from '../database/paged-query';
import { returnedRows } from '../database/returned-rows';
import { liveUsersAmong, refreshDirectoryGroupsOf } from '../users/directory-users.repository';
import type { GroupMember, StoredGroup } from './scim-group';

interface GroupRow {
  id: string;
  display_name: string;
  external_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A group as written, and which of the members it was asked to add were added (live users). */
export interface WrittenGroup {
  group: StoredGroup;
  added: Set<string>;
}

/** The members a write adds: the live users of the connection ($1) among $5, one primary-key lookup each. */
const ADD_LIVE_MEMBERS = (groupId: string) => `
  added AS (
    INSERT INTO scim_group_members (group_id, user_id)
    SELECT ${groupId}, live.id FROM (${liveUsersAmong('$1', '$5')}) AS live
    ON CONFLICT DO NOTHING RETURNING user_id)`;

const group = (r: GroupRow): StoredGroup => ({
  id: r.id,
  displayName: r.display_name,
  externalId: r.external_id,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

/** Members of the groups `groups` (a uuid[] expression) with the name to show for each, in a stable order. */
const membersOf = (groups: string): string => `
  SELECT gm.group_id, gm.user_id, coalesce(u.user_name, u.display_name, u.email) AS display
    FROM scim_group_members gm JOIN users u ON u.id = gm.user_id
   WHERE gm.group_id = ANY(${groups}) ORDER BY gm.group_id, u.created_at, u.id`;

function written(row: (GroupRow & { added: string[] }) | undefined): WrittenGroup {
  if (!row) throw new Error('The group was not written');
  return { group: group(row), added: new Set(row.added) };
}

/** The directory's groups of a connection and their members (tables scim_groups, scim_group_members). */
@Injectable()
export class ScimGroupsRepository {
  async find(m: EntityManager, connectionId: string, id: string, lock = false): Promise<StoredGroup | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const rows: GroupRow[] = await m.query(
      `SELECT * FROM scim_groups WHERE connection_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [connectionId, id],
    );
    return rows[0] ? group(rows[0]) : null;
  }

  async nameTaken(
    m: EntityManager,
    connectionId: string,
    displayName: string,
    except?: string,
  ): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `SELECT 1 FROM scim_groups WHERE connection_id = $1 AND lower(display_name) = lower($2)
         AND ($3::uuid IS NULL OR id <> $3::uuid)`,
      [connectionId, displayName, except ?? null],
    );
    return rows.length > 0;
  }

  /**
   * Inserts a group with the members among `members` that are live users of the connection, in one
   * statement; the caller refuses the write (its transaction rolls back) when some were not.
   */
  async insert(
    m: EntityManager,
    connectionId: string,
    g: { displayName: string; externalId: string | null },
    now: Date,
    members: string[],
  ): Promise<WrittenGroup> {
    const rows = returnedRows<GroupRow & { added: string[] }>(
      await m.query(
        `WITH saved AS (
           INSERT INTO scim_groups (connection_id, display_name, external_id, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $4) RETURNING *),
         ${ADD_LIVE_MEMBERS('(SELECT id FROM saved)')}
         SELECT saved.*, ARRAY(SELECT user_id::text FROM added) AS added FROM saved`,
        [connectionId, g.displayName, g.externalId, now, members],
      ),
    );
    return written(rows[0]);
  }

  /**
   * Updates a group, adds the members among `add` that are live users of the connection and removes
   * `remove`, in one statement; the caller refuses the write when some of `add` were not added.
   */
  async update(
    m: EntityManager,
    connectionId: string,
    id: string,
    g: { displayName: string; externalId: string | null },
    now: Date,
    add: string[],
    remove: string[],
  ): Promise<WrittenGroup> {
    const rows = returnedRows<GroupRow & { added: string[] }>(
      await m.query(
        `WITH saved AS (
           UPDATE scim_groups SET display_name = $3, external_id = $4, updated_at = $6
            WHERE id = $2 AND connection_id = $1 RETURNING *),
         ${ADD_LIVE_MEMBERS('$2::uuid')},
         removed AS (
           DELETE FROM scim_group_members WHERE group_id = $2 AND user_id = ANY($7::uuid[]))
         SELECT saved.*, ARRAY(SELECT user_id::text FROM added) AS added FROM saved`,
        [connectionId, id, g.displayName, g.externalId, add, now, remove],
      ),
    );
    return written(rows[0]);
  }

  /**
   * Recomputes the groups claim (`users.directory_groups`) of `refresh` (after the group's members or
   * name changed) and reads the group's members with the name to show for each, in one statement.
   */
  async refreshAndReadMembers(m: EntityManager, groupId: string, refresh: string[]): Promise<GroupMember[]> {
    const rows: Array<{ user_id: string; display: string | null }> = await m.query(
      `WITH refreshed AS (${refreshDirectoryGroupsOf('$2')}) ${membersOf('ARRAY[$1::uuid]')}`,
      [groupId, refresh],
    );
    return rows.map((r) => ({ id: r.user_id, display: r.display ?? r.user_id }));
  }

  async delete(m: EntityManager, id: string): Promise<void> {
    await m.query(`DELETE FROM scim_groups WHERE id = $1`, [id]);
  }

  async memberIds(m: EntityManager, groupId: string): Promise<string[]> {
    const rows: Array<{ user_id: string }> = await m.query(
      `SELECT user_id FROM scim_group_members WHERE group_id = $1 ORDER BY user_id`,
      [groupId],
    );
    return rows.map((r) => r.user_id);
  }

  /** Members with the name to show for each (userName). */
  async members(m: EntityManager, groupIds: string[]): Promise<Map<string, GroupMember[]>> {
    const out = new Map<string, GroupMember[]>(groupIds.map((id) => [id, []]));
    if (groupIds.length === 0) return out;
    const rows: Array<{ group_id: string; user_id: string; display: string | null }> = await m.query(
      membersOf('$1::uuid[]'),
      [groupIds],
    );
    for (const r of rows) out.get(r.group_id)?.push({ id: r.user_id, display: r.display ?? r.user_id });
    return out;
  }

  /** Takes a user out of every group (the directory deleted them). */
  async removeUserEverywhere(m: EntityManager, userId: string): Promise<void> {
    await m.query(`DELETE FROM scim_group_members WHERE user_id = $1`, [userId]);
  }

  /** The groups of these users (for the User resource's read-only `groups`). */
  async groupsOf(
    m: EntityManager,
    userIds: string[],
  ): Promise<Map<string, Array<{ id: string; displayName: string }>>> {
    const out = new Map<string, Array<{ id: string; displayName: string }>>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return out;
    const rows: Array<{ user_id: string; id: string; display_name: string }> = await m.query(
      `SELECT gm.user_id, g.id, g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id
        WHERE gm.user_id = ANY($1::uuid[]) ORDER BY g.display_name`,
      [userIds],
    );
    for (const r of rows) out.get(r.user_id)?.push({ id: r.id, displayName: r.display_name });
    return out;
  }

  async page(
    m: EntityManager,
    connectionId: string,
    where: { sql: string; values: unknown[] } | undefined,
    offset: number,
    limit: number,
  ): Promise<{ items: StoredGroup[]; total: number }> {
    const { rows, total } = await pagedQuery<GroupRow>(
      m,
      {
        columns: 'g.*',
        source: `FROM scim_groups g WHERE g.connection_id = $1${where ? ` AND ${where.sql}` : ''}`,
        values: [connectionId, ...(where?.values ?? [])],
        orderBy: 'g.created_at, g.id',
      },
      offset,
      limit,
    );
    return { items: rows.map(group), total };
  }
}
