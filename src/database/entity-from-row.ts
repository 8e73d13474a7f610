import type { ObjectLiteral, Repository } from 'typeorm';

/**
 * An entity from a raw row (`RETURNING *` of hand-written SQL), by the entity's column metadata: saves the
 * SELECT that would read back what the statement already returned. The driver has converted the values.
 */
export function entityFromRow<T extends ObjectLiteral>(repository: Repository<T>, row: ObjectLiteral): T {
  const entity = repository.create();
  for (const column of repository.metadata.columns) {
    (entity as ObjectLiteral)[column.propertyName] = row[column.databaseName];
  }
  return entity;
}

/** Column types whose JSON (`to_jsonb`) is a string that the driver would have turned into a Date. */
const DATE_TYPES = new Set<unknown>(['timestamptz', 'timestamp', 'timestamp with time zone', 'date', Date]);
/** Column types whose JSON is not what the driver gives (int8 and numeric as text, bytea as a Buffer). */
const UNCONVERTED_TYPES = new Set<unknown>(['bigint', 'int8', 'numeric', 'decimal', 'bytea']);

/**
 * An entity from its row as JSON (`to_jsonb(t)`, where a row rides in a jsonb column of hand-written SQL,
 * e.g. beside other rows in a UNION), by the entity's column metadata: what JSON keeps as the driver gives it
 * (text, uuid, booleans, integers, arrays, jsonb) is taken as it is, timestamps become Dates (to the
 * millisecond, as the driver parses them); a column of a type JSON changes otherwise is refused.
 */
export function entityFromJson<T extends ObjectLiteral>(
  repository: Repository<T>,
  json: Record<string, unknown>,
): T {
  const entity = repository.create();
  for (const column of repository.metadata.columns) {
    if (UNCONVERTED_TYPES.has(column.type)) {
      throw new Error(
        `entityFromJson: ${repository.metadata.tableName}.${column.databaseName} is ${String(column.type)}`,
      );
    }
    const value = json[column.databaseName];
    (entity as ObjectLiteral)[column.propertyName] =
      typeof value === 'string' && DATE_TYPES.has(column.type) ? new Date(value) : value;
  }
  return entity;
}
