import { filterSql, parseFilter, SqlParams } from '../../src/scim/scim-filter';
import { ScimError } from '../../src/scim/scim-error';
import { USER_FILTER_SCHEMA } from '../../src/scim/scim-user';
import { GROUP_FILTER_SCHEMA } from '../../src/scim/scim-group';

const compile = (filter: string, schema = USER_FILTER_SCHEMA) => {
  const p = new SqlParams(1);
  return { sql: filterSql(parseFilter(filter), schema, p), values: p.values };
};

const refused = (filter: string, schema = USER_FILTER_SCHEMA) => {
  try {
    compile(filter, schema);
  } catch (err) {
    expect(err).toBeInstanceOf(ScimError);
    expect((err as ScimError).scimType).toBe('invalidFilter');
    return (err as ScimError).message;
  }
  throw new Error(`${filter} was accepted`);
};

describe('SCIM filters (RFC 7644 §3.4.2.2) compiled to parameterised SQL', () => {
  it('compares userName case-insensitively and externalId exactly, values always as parameters', () => {
    expect(compile('userName eq "Ada@Example.com"')).toEqual({
      sql: 'lower(u.user_name) = $2',
      values: ['ada@example.com'],
    });
    expect(compile('externalId eq "AbC"')).toEqual({ sql: 'u.external_id = $2', values: ['AbC'] });
    const injected = compile('userName eq "x\\" OR 1=1 --"');
    expect(injected.sql).toBe('lower(u.user_name) = $2');
    expect(injected.values).toEqual(['x" or 1=1 --']);
  });

  it('combines with and / or / not and parentheses, in precedence order', () => {
    expect(compile('userName eq "a" or userName eq "b" and active eq true').sql).toBe(
      '(lower(u.user_name) = $2 OR (lower(u.user_name) = $3 AND (u.scim_active) IS NOT DISTINCT FROM $4))',
    );
    expect(compile('not (active eq false)').sql).toBe('NOT ((u.scim_active) IS NOT DISTINCT FROM $2)');
  });

  it('reads value paths and schema-qualified names', () => {
    const work = compile('emails[type eq "work"].value eq "A@x.com"');
    expect(work.sql).toContain('jsonb_array_elements');
    expect(work.values).toEqual(['work', 'a@x.com']);
    expect(compile('emails[type eq "work" and value co "@x"]').values).toEqual(['work', '%@x%']);
    expect(compile('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"').sql).toBe(
      'lower(u.user_name) = $2',
    );
    expect(
      compile('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"').values,
    ).toEqual(['7']);
    expect(compile('members.value eq "u1"', GROUP_FILTER_SCHEMA).sql).toContain('scim_group_members');
  });

  it('escapes LIKE wildcards in co / sw / ew values', () => {
    expect(compile('userName sw "50%_"').values).toEqual(['50\\%\\_%']);
  });

  it.each([
    ['userName eq jdoe', /quote strings/],
    ['userName eq "x', /unterminated/],
    ['password eq "x"', /not supported/],
    ['meta.lastModified gt "2020"', /not supported/],
    ['userName', /operator/],
    ['userName eq "a" and', /attribute name/],
    ['(userName eq "a"', /Expected "\)"/],
    ['userName;drop eq "x"', /Unexpected character/],
    ['active eq "yes"', /true or false/],
    ['emails[type eq "work"', /Expected "\]"/],
    ['a.b.c eq "x"', /not an attribute name/],
  ])('refuses %s', (filter, reason) => {
    expect(refused(filter)).toMatch(reason);
  });

  it('refuses filters that are too long or nested too deeply', () => {
    expect(refused(`userName eq "${'x'.repeat(3000)}"`)).toMatch(/longer than/);
    expect(refused(`${'('.repeat(20)}userName eq "a"${')'.repeat(20)}`)).toMatch(/nested too deeply/);
  });
});
