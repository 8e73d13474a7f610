import { Injectable, Logger } from '@nestjs/common';
import { Transactions, type Transaction } from '../database/transactions';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { DirectoryUsersRepository, type DirectoryUserWrite } from '../users/directory-users.repository';
import type { UserEntity } from '../users/user.entity';
import { DirectoryDeprovisioning } from './directory-deprovisioning';
import { paging, projection, scimActor, scimMatchOf, type ScimContext } from './scim-context';
import { SCIM, ScimError } from './scim-error';
import { scimTransaction } from './scim-transaction';
import { filterSql, parseFilter, SqlParams } from './scim-filter';
import { ScimGroupsRepository } from './scim-groups.repository';
import { applyPatch, type JsonObject } from './scim-patch';
import {
  matchSubject,
  normalizeUser,
  patchableUser,
  profileOf,
  USER_FILTER_SCHEMA,
  USER_PATCH_SCHEMA,
  userResource,
  type NormalizedUser,
} from './scim-user';

export interface ListQuery {
  filter?: unknown;
  startIndex?: unknown;
  count?: unknown;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

/** What the audit log keeps of a directory user (no raw resource: ids and profile). */
function auditView(u: UserEntity): Record<string, unknown> {
  return {
    userName: u.userName,
    externalId: u.externalId,
    subject: u.subject,
    email: u.email,
    active: u.scimActive !== false,
    displayName: u.displayName,
  };
}

/**
 * SCIM Users of one connection (RFC 7643 §4.1, RFC 7644 §3): create, read, filter, replace, patch and
 * delete, on the same users rows as the connection's SAML logins. Each request is one transaction with its
 * audit event; deactivation and deletion then sign the user out of every app (DirectoryDeprovisioning).
 */
@Injectable()
export class ScimUsersService {
  private readonly logger = new Logger('ScimUsers');

  constructor(
    private readonly transactions: Transactions,
    private readonly users: DirectoryUsersRepository,
    private readonly groups: ScimGroupsRepository,
    private readonly audit: AuditService,
    private readonly deprovisioning: DirectoryDeprovisioning,
    private readonly clock: Clock,
  ) {}

  private tx<T>(work: (m: Transaction) => Promise<T>): Promise<T> {
    return scimTransaction(this.transactions, 'A user with this userName or externalId exists.', work);
  }

  private write(ctx: ScimContext, user: NormalizedUser): DirectoryUserWrite {
    return {
      subject: matchSubject(user, scimMatchOf(ctx)),
      userName: user.userName,
      externalId: user.externalId,
      active: user.active,
      resource: user.resource,
      ...profileOf(user, ctx.connection.domains),
      tokenId: ctx.token.id,
      now: this.clock.now(),
    };
  }

  private async resource(m: Transaction, ctx: ScimContext, u: UserEntity): Promise<JsonObject> {
    const groups = await this.groups.groupsOf(m, [u.id]);
    return userResource(u, ctx.baseUrl, groups.get(u.id) ?? []);
  }

  async create(ctx: ScimContext, body: unknown): Promise<JsonObject> {
    const user = normalizeUser(body);
    const w = this.write(ctx, user);
    const cid = ctx.connection.id;
    const { saved, signOut, resource } = await this.tx(async (m) => {
      if (await this.users.userNameTaken(m, cid, user.userName)) {
        throw ScimError.conflict(`A user with userName ${JSON.stringify(user.userName)} exists.`);
      }
      const existing = await this.users.lockBySubject(m, cid, w.subject);
      if (existing && existing.scimActive !== null && existing.scimDeletedAt === null) {
        throw ScimError.conflict(
          `A user with this ${scimMatchOf(ctx)} exists (id ${existing.id}): look it up with a filter and update it.`,
        );
      }
      const saved = existing
        ? await this.users.update(m, existing.id, w)
        : await this.users.insert(m, cid, w);
      // A user new to the bridge is in no group yet (a member must already be a directory user).
      const resource = existing ? await this.resource(m, ctx, saved) : userResource(saved, ctx.baseUrl, []);
      await this.audit.record(
        {
          type: 'scim.user_created',
          actor: scimActor(ctx),
          connectionId: cid,
          userId: saved.id,
          data: {
            after: auditView(saved),
            linkedToSamlUser: Boolean(existing && existing.scimDeletedAt === null),
            restored: Boolean(existing?.scimDeletedAt),
          },
        },
        m,
      );
      // A SAML user who already signed in, created inactive: their sessions end too.
      return { saved, signOut: Boolean(existing) && !user.active, resource };
    });
    if (signOut) await this.deprovisioning.signOut(saved.id);
    return resource;
  }

  async get(ctx: ScimContext, id: string, query: ListQuery = {}): Promise<JsonObject> {
    const m = this.transactions.autocommit;
    const u = await this.users.findLive(m, ctx.connection.id, id);
    if (!u) throw ScimError.notFound(`No User ${id}.`);
    return projection(query)(await this.resource(m, ctx, u));
  }

  async list(ctx: ScimContext, query: ListQuery): Promise<JsonObject> {
    const { startIndex, count } = paging(query);
    let where: { sql: string; values: unknown[] } | undefined;
    if (typeof query.filter === 'string' && query.filter.trim()) {
      const params = new SqlParams(1);
      const sql = filterSql(parseFilter(query.filter), USER_FILTER_SCHEMA, params);
      where = { sql, values: params.values };
    } else if (query.filter !== undefined && typeof query.filter !== 'string') {
      throw ScimError.badRequest('invalidFilter', 'Give one filter.');
    }
    const m = this.transactions.autocommit;
    const page = await this.users.page(m, ctx.connection.id, where, startIndex - 1, count);
    const groups = await this.groups.groupsOf(
      m,
      page.items.map((u) => u.id),
    );
    const project = projection(query);
    return {
      schemas: [SCIM.listResponse],
      totalResults: page.total,
      startIndex,
      itemsPerPage: page.items.length,
      Resources: page.items.map((u) => project(userResource(u, ctx.baseUrl, groups.get(u.id) ?? []))),
    };
  }

  async replace(ctx: ScimContext, id: string, body: unknown): Promise<JsonObject> {
    return this.change(ctx, id, () => normalizeUser(body));
  }

  async patch(ctx: ScimContext, id: string, body: unknown): Promise<JsonObject> {
    return this.change(ctx, id, (current) =>
      normalizeUser(applyPatch(patchableUser(current), body, USER_PATCH_SCHEMA)),
    );
  }

  /** PUT and PATCH: the new state from the current one, checked, stored with its audit event, or nothing. */
  private async change(
    ctx: ScimContext,
    id: string,
    next: (current: UserEntity) => NormalizedUser,
  ): Promise<JsonObject> {
    const cid = ctx.connection.id;
    const { saved, deactivated, resource } = await this.tx(async (m) => {
      const current = await this.users.findLive(m, cid, id, true);
      if (!current) throw ScimError.notFound(`No User ${id}.`);
      const user = next(current);
      const w = this.write(ctx, user);
      if (await this.users.userNameTaken(m, cid, user.userName, current.id)) {
        throw ScimError.conflict(`Another user has userName ${JSON.stringify(user.userName)}.`);
      }
      if (w.subject !== current.subject) {
        const other = await this.users.lockBySubject(m, cid, w.subject);
        if (other && other.id !== current.id) {
          throw ScimError.conflict(`Another user has this ${scimMatchOf(ctx)}.`);
        }
      }
      const wasActive = current.scimActive !== false;
      const saved = await this.users.update(m, current.id, w);
      const resource = await this.resource(m, ctx, saved);
      const type =
        wasActive && !user.active
          ? 'scim.user_deactivated'
          : !wasActive && user.active
            ? 'scim.user_reactivated'
            : 'scim.user_updated';
      await this.audit.record(
        {
          type,
          actor: scimActor(ctx),
          connectionId: cid,
          userId: saved.id,
          data: { before: auditView(current), after: auditView(saved) },
        },
        m,
      );
      return { saved, deactivated: wasActive && !user.active, resource };
    });
    if (deactivated) await this.deprovisioning.signOut(saved.id);
    return resource;
  }

  async delete(ctx: ScimContext, id: string): Promise<void> {
    const cid = ctx.connection.id;
    const userId = await this.tx(async (m) => {
      const current = await this.users.findLive(m, cid, id, true);
      if (!current) throw ScimError.notFound(`No User ${id}.`);
      await this.groups.removeUserEverywhere(m, current.id);
      await this.users.markDeleted(m, current.id, ctx.token.id, this.clock.now());
      await this.audit.record(
        {
          type: 'scim.user_deleted',
          actor: scimActor(ctx),
          connectionId: cid,
          userId: current.id,
          data: { before: auditView(current) },
        },
        m,
      );
      return current.id;
    });
    await this.deprovisioning.signOut(userId);
    this.logger.log(`Directory deleted user ${userId} of ${ctx.connection.slug}`);
  }
}
