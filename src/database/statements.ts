import { Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import type { EntityManager, ObjectLiteral, Repository } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { sha256 } from '../common/sha256';
import { Database } from './database';
import { entityFromRow } from './entity-from-row';
import { pgPoolOf } from './pg-pool';

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A statement built once from an entity's metadata: its name and its text. */
interface EntityStatement {
  name: string;
  text: string;
}

/**
 * The hot paths' fixed SQL statements (OIDC storage, the SAML state, users and sessions on the login path),
 * run on the data source's pg pool: they need nothing of TypeORM's query runner or query builder, which
 * cost more CPU than the statements themselves. On a PostgreSQL server each statement is named, so every
 * pooled connection parses and plans it once (prepared). Not on the embedded database: its connections
 * share one PGlite session, where the names of two connections would collide.
 */
@Injectable()
export class Statements {
  private readonly prepared: boolean;
  /** Each name's text: one name must never stand for two statements (the server would refuse the second). */
  private readonly texts = new Map<string, string>();
  private readonly entityStatements = new Map<string, EntityStatement>();

  constructor(private readonly database: Database) {
    this.prepared = database.mode === 'postgres';
  }

  /**
   * Runs the statement `name` (`text` with `$n` placeholders) and returns its rows (RETURNING rows for writes).
   * `ephemeral`: a write of state that lives for one hop of a login (a pending request, a completion, an
   * interaction) or of a diagnostic (an SSO trace), which a server crash may lose without harm: its commit
   * does not wait for its own WAL flush (Database.ephemeralPool). Never for what must survive a crash
   * (users, sessions, grants, tokens, the replay cache, the audit chain) nor for a single-use take.
   */
  async rows<R>(
    name: string,
    text: string,
    values: unknown[],
    { ephemeral = false }: { ephemeral?: boolean } = {},
  ): Promise<R[]> {
    this.claim(name, text);
    const pool = ((ephemeral ? this.database.ephemeralPool() : undefined) ??
      pgPoolOf(this.database.dataSource)) as Pool;
    const result = await pool.query(this.prepared ? { name, text, values } : { text, values });
    return result.rows as R[];
  }

  /**
   * Runs the statement `name` inside the caller's transaction (`m`, on its connection) and returns its rows:
   * for the fixed statements of a transaction's hot path, which every write of its kind sends (the audit
   * chain's lock and append). Prepared on a PostgreSQL server, as `rows`; on the embedded database, or for a
   * manager outside a transaction, it is `m.query`.
   */
  async rowsIn<R>(m: EntityManager, name: string, text: string, values: unknown[] = []): Promise<R[]> {
    this.claim(name, text);
    const client = (m.queryRunner as unknown as { databaseConnection?: PoolClient } | undefined)
      ?.databaseConnection;
    if (this.prepared && client && m.queryRunner?.isTransactionActive) {
      return (await client.query({ name, text, values })).rows as R[];
    }
    return (await m.query(text, values)) as R[];
  }

  /** One name must never stand for two statements (the server would refuse the second). */
  private claim(name: string, text: string): void {
    const known = this.texts.get(name);
    if (known === undefined) this.texts.set(name, text);
    else if (known !== text) throw new Error(`Statement name "${name}" is used for two different statements`);
  }

  /**
   * Inserts a new entity with one statement (the columns it has values for; the others take their
   * defaults) and returns its primary key values, generated ones included, which are also set on it.
   * `ephemeral`: see `rows`.
   */
  async insert<T extends ObjectLiteral>(
    repository: Repository<T>,
    entity: T,
    options: { ephemeral?: boolean } = {},
  ): Promise<ObjectLiteral> {
    const meta = repository.metadata;
    const columns = meta.columns.filter((column) => entity[column.propertyName] !== undefined);
    const statement = this.entityStatement(meta.tableName, 'insert', columns, () => {
      const placeholders = columns.map((_, i) => `$${i + 1}`).join(', ');
      return `INSERT INTO ${quoted(meta.tableName)} (${columns.map((c) => quoted(c.databaseName)).join(', ')})
        VALUES (${placeholders}) RETURNING ${meta.primaryColumns.map((c) => quoted(c.databaseName)).join(', ')}`;
    });
    const [row] = await this.rows<ObjectLiteral>(
      statement.name,
      statement.text,
      columns.map((column) => columnValue(column, entity[column.propertyName])),
      options,
    );
    if (row === undefined) throw new Error(`INSERT INTO ${meta.tableName} returned no row`);
    const keys: ObjectLiteral = {};
    for (const column of meta.primaryColumns) {
      keys[column.propertyName] = row[column.databaseName];
      (entity as ObjectLiteral)[column.propertyName] = row[column.databaseName];
    }
    return keys;
  }

  /** The entity whose columns equal `where` (by property name), or null; one statement, no query builder. */
  async findOne<T extends ObjectLiteral>(
    repository: Repository<T>,
    where: { [P in keyof T]?: T[P] },
  ): Promise<T | null> {
    const meta = repository.metadata;
    const fields = Object.keys(where).map((property) => {
      const column = meta.findColumnWithPropertyName(property);
      if (!column) throw new Error(`${meta.tableName} has no column for "${property}"`);
      return { property, column };
    });
    const columns = fields.map((field) => field.column);
    const statement = this.entityStatement(
      meta.tableName,
      'select',
      columns,
      () =>
        `SELECT * FROM ${quoted(meta.tableName)}
          WHERE ${columns.map((c, i) => `${quoted(c.databaseName)} = $${i + 1}`).join(' AND ')} LIMIT 1`,
    );
    const [row] = await this.rows<ObjectLiteral>(
      statement.name,
      statement.text,
      fields.map(({ property, column }) => columnValue(column, where[property])),
    );
    return row ? entityFromRow(repository, row) : null;
  }

  private entityStatement(
    table: string,
    kind: 'insert' | 'select',
    columns: ColumnMetadata[],
    text: () => string,
  ): EntityStatement {
    const key = `${kind} ${table} ${columns.map((c) => c.databaseName).join(',')}`;
    let statement = this.entityStatements.get(key);
    if (!statement) {
      statement = { name: `${kind}_${table}_${sha256(key).slice(0, 12)}`, text: text() };
      this.entityStatements.set(key, statement);
    }
    return statement;
  }
}

/** A value as the statement binds it: json/jsonb columns as JSON text (pg would send an array as an SQL array). */
function columnValue(column: ColumnMetadata, value: unknown): unknown {
  return (column.type === 'jsonb' || column.type === 'json') && value !== null && value !== undefined
    ? JSON.stringify(value)
    : value;
}
