import type { ObjectLiteral, Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';

/**
 * Inserts a new entity with one statement and returns its primary key values. `Repository.save()` would
 * wrap the INSERT in BEGIN / COMMIT (three round trips); on the login path that is a measurable cost.
 */
export async function insertEntity<T extends ObjectLiteral>(
  repository: Repository<T>,
  entity: T,
): Promise<ObjectLiteral> {
  // jsonb columns typed as Record<string, unknown> do not fit typeorm's deep-partial type; the entity is whole.
  const result = await repository.insert(entity as QueryDeepPartialEntity<T>);
  return result.identifiers[0] ?? {};
}

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
