import type { Repository } from 'typeorm';
import { entityFromJson } from './entity-from-row';

/** A repository as entityFromJson reads it: its columns' names and types, and create(). */
function repositoryOf(columns: Array<{ propertyName: string; databaseName: string; type: unknown }>) {
  return {
    create: () => ({}),
    metadata: { tableName: 'things', columns },
  } as unknown as Repository<Record<string, unknown>>;
}

describe('entityFromJson', () => {
  it('takes what JSON keeps as the driver gives it, and turns timestamps into Dates (to the millisecond)', () => {
    const repository = repositoryOf([
      { propertyName: 'id', databaseName: 'id', type: 'uuid' },
      { propertyName: 'seenAt', databaseName: 'seen_at', type: 'timestamptz' },
      { propertyName: 'createdAt', databaseName: 'created_at', type: Date },
      { propertyName: 'goneAt', databaseName: 'gone_at', type: 'timestamptz' },
      { propertyName: 'tags', databaseName: 'tags', type: 'text' },
      { propertyName: 'extra', databaseName: 'extra', type: 'jsonb' },
      { propertyName: 'on', databaseName: 'on', type: 'boolean' },
    ]);
    expect(
      entityFromJson(repository, {
        id: '8f0c3a52-1d2e-4c55-9a43-2b7f3f5e9d10',
        seen_at: '2026-12-08T01:02:03.456789+00:00',
        created_at: '2026-12-08T02:02:03+01:00',
        gone_at: null,
        tags: ['a', 'b'],
        extra: { nested: ['x'] },
        on: false,
      }),
    ).toEqual({
      id: '8f0c3a52-1d2e-4c55-9a43-2b7f3f5e9d10',
      seenAt: new Date('2026-12-08T01:02:03.456Z'),
      createdAt: new Date('2026-12-08T01:02:03.000Z'),
      goneAt: null,
      tags: ['a', 'b'],
      extra: { nested: ['x'] },
      on: false,
    });
  });

  it.each(['bigint', 'numeric', 'bytea'])(
    'refuses a %s column, whose JSON is not what the driver gives',
    (type) => {
      const repository = repositoryOf([{ propertyName: 'n', databaseName: 'n', type }]);
      expect(() => entityFromJson(repository, { n: 1 })).toThrow(`things.n is ${type}`);
    },
  );
});
