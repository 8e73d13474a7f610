import { Injectable } from '@nestjs/common';
import { Transactions, type Transaction } from '../database/transactions';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { DirectoryUsersRepository } from '../users/directory-users.repository';
import { paging, projection, scimActor, wantsAttribute, type ScimContext } from './scim-context';
import { SCIM, ScimError } from './scim-error';
import { scimTransaction } from './scim-transaction';
import { filterSql, parseFilter, SqlParams } from './scim-filter';
import {
  GROUP_FILTER_SCHEMA,
  GROUP_PATCH_SCHEMA,
  groupResource,
  normalizeGroup,
  patchableGroup,
  type NormalizedGroup,
  type StoredGroup,
} from './scim-group';
import { ScimGroupsRepository } from './scim-groups.repository';
import { applyPatch, type JsonObject } from './scim-patch';
import type { ListQuery } from './scim-users.service';

/**
 * SCIM Groups of one connection (RFC 7643 §4.2): the directory's groups and their members. A member is a
 * directory user of the same connection; the names of a user's groups are kept on the user
 * (`directory_groups`) and flow into the `groups` claim of the next token.
 */
@Injectable()
export class ScimGroupsService {
  constructor(
    private readonly transactions: Transactions,
    private readonly groups: ScimGroupsRepository,
    private readonly users: DirectoryUsersRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  private tx<T>(work: (m: Transaction) => Promise<T>): Promise<T> {
    return scimTransaction(this.transactions, 'A group with this displayName exists.', work);
  }

  /** Refuses a write that was asked to add members that are not live users of the connection. */
  private refuseUnknownMembers(wanted: string[], added: Set<string>): void {
    const unknown = wanted.filter((id) => !added.has(id));
    if (unknown.length) {
      throw ScimError.badRequest(
        'invalidValue',
        `${unknown.length} member(s) are not Users of this connection, e.g. ${unknown[0]}.`,
      );
    }
  }

  private async resource(m: Transaction, ctx: ScimContext, g: StoredGroup, withMembers = true) {
    const members = withMembers ? (await this.groups.members(m, [g.id])).get(g.id) : undefined;
    return groupResource(g, ctx.baseUrl, members);
  }

  async create(ctx: ScimContext, body: unknown): Promise<JsonObject> {
    const group = normalizeGroup(body);
    const cid = ctx.connection.id;
    return this.tx(async (m) => {
      if (await this.groups.nameTaken(m, cid, group.displayName)) {
        throw ScimError.conflict(`A group named ${JSON.stringify(group.displayName)} exists.`);
      }
      const { group: saved, added } = await this.groups.insert(
        m,
        cid,
        group,
        this.clock.now(),
        group.members,
      );
      this.refuseUnknownMembers(group.members, added);
      const members = group.members.length
        ? await this.groups.refreshAndReadMembers(m, saved.id, group.members)
        : [];
      const resource = groupResource(saved, ctx.baseUrl, members);
      await this.audit.record(
        {
          type: 'scim.group_created',
          actor: scimActor(ctx),
          connectionId: cid,
          data: { groupId: saved.id, displayName: saved.displayName, members: group.members.length },
        },
        m,
      );
      return resource;
    });
  }

  async get(ctx: ScimContext, id: string, query: ListQuery = {}): Promise<JsonObject> {
    const m = this.transactions.autocommit;
    const g = await this.groups.find(m, ctx.connection.id, id);
    if (!g) throw ScimError.notFound(`No Group ${id}.`);
    return projection(query)(await this.resource(m, ctx, g, wantsAttribute(query, 'members')));
  }

  async list(ctx: ScimContext, query: ListQuery): Promise<JsonObject> {
    const { startIndex, count } = paging(query);
    let where: { sql: string; values: unknown[] } | undefined;
    if (typeof query.filter === 'string' && query.filter.trim()) {
      const params = new SqlParams(1);
      where = {
        sql: filterSql(parseFilter(query.filter), GROUP_FILTER_SCHEMA, params),
        values: params.values,
      };
    } else if (query.filter !== undefined && typeof query.filter !== 'string') {
      throw ScimError.badRequest('invalidFilter', 'Give one filter.');
    }
    const m = this.transactions.autocommit;
    const page = await this.groups.page(m, ctx.connection.id, where, startIndex - 1, count);
    const members = wantsAttribute(query, 'members')
      ? await this.groups.members(
          m,
          page.items.map((g) => g.id),
        )
      : undefined;
    const project = projection(query);
    return {
      schemas: [SCIM.listResponse],
      totalResults: page.total,
      startIndex,
      itemsPerPage: page.items.length,
      Resources: page.items.map((g) =>
        project(groupResource(g, ctx.baseUrl, members?.get(g.id) ?? undefined)),
      ),
    };
  }

  async replace(ctx: ScimContext, id: string, body: unknown): Promise<JsonObject> {
    return this.change(ctx, id, () => normalizeGroup(body));
  }

  async patch(ctx: ScimContext, id: string, body: unknown): Promise<JsonObject | undefined> {
    return this.change(ctx, id, (g, members) =>
      normalizeGroup(applyPatch(patchableGroup(g, members), body, GROUP_PATCH_SCHEMA)),
    );
  }

  private async change(
    ctx: ScimContext,
    id: string,
    next: (current: StoredGroup, members: string[]) => NormalizedGroup,
  ): Promise<JsonObject> {
    const cid = ctx.connection.id;
    return this.tx(async (m) => {
      const current = await this.groups.find(m, cid, id, true);
      if (!current) throw ScimError.notFound(`No Group ${id}.`);
      const before = await this.groups.memberIds(m, current.id);
      const group = next(current, before);
      // The name it keeps needs no check (the group holds it; the unique index guards every write anyway).
      if (
        group.displayName !== current.displayName &&
        (await this.groups.nameTaken(m, cid, group.displayName, current.id))
      ) {
        throw ScimError.conflict(`Another group is named ${JSON.stringify(group.displayName)}.`);
      }
      const had = new Set(before);
      const wants = new Set(group.members);
      const adding = group.members.filter((u) => !had.has(u));
      const removed = before.filter((u) => !wants.has(u));
      const written = await this.groups.update(m, cid, current.id, group, this.clock.now(), adding, removed);
      this.refuseUnknownMembers(adding, written.added);
      const saved = written.group;
      const renamed = saved.displayName !== current.displayName;
      const members = await this.groups.refreshAndReadMembers(
        m,
        saved.id,
        renamed ? [...new Set([...before, ...adding])] : [...adding, ...removed],
      );
      const resource = groupResource(saved, ctx.baseUrl, members);
      await this.audit.record(
        {
          type: 'scim.group_updated',
          actor: scimActor(ctx),
          connectionId: cid,
          data: {
            groupId: saved.id,
            displayName: saved.displayName,
            ...(renamed ? { renamedFrom: current.displayName } : {}),
            added: adding.length,
            removed: removed.length,
          },
        },
        m,
      );
      return resource;
    });
  }

  async delete(ctx: ScimContext, id: string): Promise<void> {
    const cid = ctx.connection.id;
    await this.tx(async (m) => {
      const current = await this.groups.find(m, cid, id, true);
      if (!current) throw ScimError.notFound(`No Group ${id}.`);
      const members = await this.groups.memberIds(m, current.id);
      await this.groups.delete(m, current.id);
      await this.users.refreshDirectoryGroups(m, members);
      await this.audit.record(
        {
          type: 'scim.group_deleted',
          actor: scimActor(ctx),
          connectionId: cid,
          data: { groupId: current.id, displayName: current.displayName, members: members.length },
        },
        m,
      );
    });
  }
}
