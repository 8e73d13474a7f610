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
