import { ScimError } from './scim-error';

/**
 * SCIM filters (RFC 7644 §3.4.2.2), parsed into a tree and compiled to a parameterised SQL condition:
 * values are never spliced into SQL. Supported: `eq ne co sw ew pr`, `and or not`, parentheses, sub-attributes
 * (`name.givenName`), schema-qualified names (`urn:…:enterprise:2.0:User:employeeNumber`) and value paths
 * (`emails[type eq "work"].value eq "…"`, `emails[type eq "work" and value eq "…"]`). What a resource
 * type can filter on is listed by its compiler; anything else is `invalidFilter`.
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'pr';
export type ScimValue = string | number | boolean | null;

export interface AttrPath {
  /** The schema URN when the name was qualified, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`. */
  schema?: string;
  attr: string;
  sub?: string;
  /** `emails[type eq "work"].value`: the filter on the multi-valued attribute's elements. */
  elementFilter?: FilterNode;
}

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; node: FilterNode }
  | { kind: 'compare'; path: AttrPath; op: CompareOp; value?: ScimValue }
  | { kind: 'valuePath'; attr: string; schema?: string; node: FilterNode };

export const MAX_FILTER_LENGTH = 2000;
const MAX_DEPTH = 12;
const OPS = new Set<CompareOp>(['eq', 'ne', 'co', 'sw', 'ew', 'pr']);
const UNSUPPORTED_OPS = new Set(['gt', 'ge', 'lt', 'le']);

type Token = { t: 'word'; v: string } | { t: 'string'; v: string } | { t: 'punct'; v: '(' | ')' | '[' | ']' };

const invalid = (message: string) => ScimError.badRequest('invalidFilter', message);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ t: 'punct', v: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1;
      if (j >= input.length) throw invalid('The filter has an unterminated string.');
      try {
        tokens.push({ t: 'string', v: JSON.parse(input.slice(i, j + 1)) as string });
      } catch {
        throw invalid('The filter has a string with an invalid escape.');
      }
      i = j + 1;
    } else {
      const m = /^[A-Za-z0-9_:.$+-]+/.exec(input.slice(i));
      if (!m) throw invalid(`Unexpected character ${JSON.stringify(c)} in the filter.`);
      tokens.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

function splitName(name: string): { schema?: string; parts: string[] } {
  let schema: string | undefined;
  let rest = name;
  if (/^urn:/i.test(name)) {
    const at = name.lastIndexOf(':');
    schema = name.slice(0, at);
    rest = name.slice(at + 1);
  }
  const parts = rest.split('.');
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z$][A-Za-z0-9_$-]*$/.test(p))) {
    throw invalid(`${JSON.stringify(name)} is not an attribute name.`);
  }
  return { schema, parts };
}

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): FilterNode {
    const node = this.or(0);
    if (this.at < this.tokens.length) throw invalid('Unexpected text after the end of the filter.');
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private isWord(v: string): boolean {
    const t = this.peek();
    return t?.t === 'word' && t.v.toLowerCase() === v;
  }

  private expectPunct(v: ')' | ']'): void {
    const t = this.peek();
    if (t?.t !== 'punct' || t.v !== v) throw invalid(`Expected "${v}" in the filter.`);
    this.at++;
  }

  private or(depth: number): FilterNode {
    let left = this.and(depth);
    while (this.isWord('or')) {
      this.at++;
      left = { kind: 'or', left, right: this.and(depth) };
    }
    return left;
  }

  private and(depth: number): FilterNode {
    let left = this.unary(depth);
    while (this.isWord('and')) {
      this.at++;
      left = { kind: 'and', left, right: this.unary(depth) };
    }
    return left;
  }

  private unary(depth: number): FilterNode {
    if (depth > MAX_DEPTH) throw invalid('The filter is nested too deeply.');
    if (this.isWord('not')) {
      this.at++;
      const t = this.peek();
      if (t?.t !== 'punct' || t.v !== '(') throw invalid('"not" must be followed by "(".');
      return { kind: 'not', node: this.unary(depth + 1) };
    }
    const t = this.peek();
    if (t?.t === 'punct' && t.v === '(') {
      this.at++;
      const node = this.or(depth + 1);
      this.expectPunct(')');
      return node;
    }
    return this.comparison(depth);
  }

  private comparison(depth: number): FilterNode {
    const t = this.peek();
    if (t?.t !== 'word') throw invalid('Expected an attribute name in the filter.');
    this.at++;
    const { schema, parts } = splitName(t.v);
    const next = this.peek();
    if (next?.t === 'punct' && next.v === '[') {
      if (parts.length !== 1) throw invalid(`A value path needs a plain attribute name, not ${t.v}.`);
      this.at++;
      const inner = this.or(depth + 1);
      this.expectPunct(']');
      const after = this.peek();
      // emails[type eq "work"].value eq "…": the sub-attribute follows the closing bracket.
      if (after?.t === 'word' && after.v.startsWith('.')) {
        this.at++;
        const sub = after.v.slice(1);
        if (!/^[A-Za-z$][A-Za-z0-9_$-]*$/.test(sub)) throw invalid(`${after.v} is not a sub-attribute.`);
        return this.operator({ schema, attr: parts[0] as string, sub, elementFilter: inner });
      }
      return { kind: 'valuePath', attr: parts[0] as string, schema, node: inner };
    }
    return this.operator({ schema, attr: parts[0] as string, sub: parts[1] });
  }

  private operator(path: AttrPath): FilterNode {
    const t = this.peek();
    if (t?.t !== 'word') throw invalid('Expected an operator (eq, ne, co, sw, ew, pr) in the filter.');
    const op = t.v.toLowerCase();
    this.at++;
    if (UNSUPPORTED_OPS.has(op)) throw invalid(`The operator "${op}" is not supported here.`);
    if (!OPS.has(op as CompareOp)) throw invalid(`"${t.v}" is not a filter operator.`);
    if (op === 'pr') return { kind: 'compare', path, op: 'pr' };
    const v = this.peek();
    if (!v || v.t === 'punct') throw invalid(`"${op}" needs a value.`);
    this.at++;
    let value: ScimValue;
    if (v.t === 'string') value = v.v;
    else if (v.v === 'true' || v.v === 'false') value = v.v === 'true';
    else if (v.v === 'null') value = null;
    else if (/^-?\d+(\.\d+)?$/.test(v.v)) value = Number(v.v);
    else throw invalid(`${JSON.stringify(v.v)} is not a value: quote strings.`);
    return { kind: 'compare', path, op: op as CompareOp, value };
  }
}

/** Parses a filter; `ScimError` (400 invalidFilter) with a specific message when it is not one. */
export function parseFilter(input: string): FilterNode {
  if (input.length > MAX_FILTER_LENGTH)
    throw invalid(`The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  const tokens = tokenize(input);
  if (tokens.length === 0) throw invalid('The filter is empty.');
  return new Parser(tokens).parse();
}

/** Collects SQL parameters; `add` returns the placeholder of the value it was given. */
export class SqlParams {
  readonly values: unknown[] = [];
  constructor(private readonly offset = 0) {}
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}`;
  }
}

/** How one filterable attribute reads in SQL. */
export interface FilterColumn {
  /** A text SQL expression, or a boolean one for `type: 'boolean'`. */
  sql: string;
  type?: 'string' | 'boolean';
  /** RFC 7643 caseExact=false attributes compare case-insensitively. */
  caseExact?: boolean;
}

/** A multi-valued complex attribute stored as a jsonb array: `emails`, `phoneNumbers`… */
export interface FilterArray {
  /** The jsonb array expression, e.g. `u.scim_resource->'emails'`. */
  jsonb: string;
  /** Sub-attributes that may be compared (by lower-case name): their stored key and case rule. */
  subs: Record<string, { key: string; caseExact: boolean; type?: 'boolean' }>;
  /** The sub-attribute a path without one means (`emails eq "…"` is `emails.value eq "…"`). */
  defaultSub: string;
}

/** A membership list answered by an EXISTS subquery over a join table (`members.value`). */
export interface FilterMembership {
  /** SQL with `?` where the compared value's placeholder goes. */
  exists: (placeholder: string) => string;
}

export interface FilterSchema {
  /** The resource's core schema URN (qualified names in it are the same attributes). */
  coreSchema: string;
  /** Attribute name (lower case; sub-attributes as `name.givenname`, extension ones as `urn…:attr`) → column. */
  columns: Record<string, FilterColumn>;
  arrays: Record<string, FilterArray>;
  memberships: Record<string, FilterMembership>;
}

function compareSql(
  expr: string,
  col: FilterColumn,
  op: CompareOp,
  value: ScimValue | undefined,
  p: SqlParams,
) {
  if (op === 'pr') return col.type === 'boolean' ? `(${expr}) IS NOT NULL` : `coalesce(${expr}, '') <> ''`;
  if (col.type === 'boolean') {
    if (typeof value !== 'boolean') throw invalid('A boolean attribute is compared with true or false.');
    if (op !== 'eq' && op !== 'ne') throw invalid(`"${op}" does not apply to a boolean attribute.`);
    return op === 'eq'
      ? `(${expr}) IS NOT DISTINCT FROM ${p.add(value)}`
      : `(${expr}) IS DISTINCT FROM ${p.add(value)}`;
  }
  if (value === null) {
    if (op === 'eq') return `(${expr}) IS NULL`;
    if (op === 'ne') return `(${expr}) IS NOT NULL`;
    throw invalid(`"${op}" needs a string value.`);
  }
  const text = String(value);
  const lhs = col.caseExact ? expr : `lower(${expr})`;
  const v = col.caseExact ? text : text.toLowerCase();
  const like = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);
  switch (op) {
    case 'eq':
      return `${lhs} = ${p.add(v)}`;
    case 'ne':
      return `${lhs} IS DISTINCT FROM ${p.add(v)}`;
    case 'co':
      return `${lhs} LIKE ${p.add(`%${like(v)}%`)}`;
    case 'sw':
      return `${lhs} LIKE ${p.add(`${like(v)}%`)}`;
    case 'ew':
      return `${lhs} LIKE ${p.add(`%${like(v)}`)}`;
  }
}

function qualifiedKey(schema: FilterSchema, path: { schema?: string; attr: string; sub?: string }): string {
  const base = path.sub ? `${path.attr}.${path.sub}` : path.attr;
  if (!path.schema || path.schema.toLowerCase() === schema.coreSchema.toLowerCase())
    return base.toLowerCase();
  return `${path.schema}:${base}`.toLowerCase();
}

function unsupported(name: string): ScimError {
  return invalid(`Filtering on ${JSON.stringify(name)} is not supported.`);
}

/** An element condition inside a jsonb array (`e` is the element). */
function elementSql(node: FilterNode, array: FilterArray, p: SqlParams, name: string): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${elementSql(node.left, array, p, name)} ${node.kind.toUpperCase()} ${elementSql(node.right, array, p, name)})`;
    case 'not':
      return `NOT (${elementSql(node.node, array, p, name)})`;
    case 'valuePath':
      throw invalid('A value path cannot be nested in another.');
    case 'compare': {
      if (node.path.sub || node.path.schema || node.path.elementFilter) throw unsupported(`${name}[…]`);
      const rule = array.subs[node.path.attr.toLowerCase()];
      if (!rule) throw unsupported(`${name}.${node.path.attr}`);
      // The key is the schema's own spelling (a whitelist), never the filter's text.
      if (rule.type === 'boolean') {
        return compareSql(
          `(e->>'${rule.key}')::boolean`,
          { sql: '', type: 'boolean' },
          node.op,
          node.value,
          p,
        );
      }
      return compareSql(`e->>'${rule.key}'`, { sql: '', caseExact: rule.caseExact }, node.op, node.value, p);
    }
  }
}

/** Compiles a filter tree to a SQL condition over the schema's columns. */
export function filterSql(node: FilterNode, schema: FilterSchema, p: SqlParams): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${filterSql(node.left, schema, p)} ${node.kind.toUpperCase()} ${filterSql(node.right, schema, p)})`;
    case 'not':
      return `NOT (${filterSql(node.node, schema, p)})`;
    case 'valuePath': {
      const array = schema.arrays[qualifiedKey(schema, node)];
      if (!array) throw unsupported(node.attr);
      return `EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(${array.jsonb}, '[]'::jsonb)) e WHERE ${elementSql(node.node, array, p, node.attr)})`;
    }
    case 'compare': {
      const { path } = node;
      const membership = schema.memberships[qualifiedKey(schema, { ...path, sub: undefined })];
      if (membership) {
        if ((path.sub ?? 'value').toLowerCase() !== 'value' || path.elementFilter)
          throw unsupported(`${path.attr}.${path.sub}`);
        if (node.op !== 'eq' || typeof node.value !== 'string')
          throw invalid(`${path.attr}.value is compared with eq and a string.`);
        return membership.exists(p.add(node.value));
      }
      const array = schema.arrays[qualifiedKey(schema, { ...path, sub: undefined })];
      if (array) {
        const sub = path.sub ?? array.defaultSub;
        const inner: FilterNode = { kind: 'compare', path: { attr: sub }, op: node.op, value: node.value };
        const cond = path.elementFilter
          ? { kind: 'and' as const, left: path.elementFilter, right: inner }
          : inner;
        return `EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(${array.jsonb}, '[]'::jsonb)) e WHERE ${elementSql(cond, array, p, path.attr)})`;
      }
      if (path.elementFilter) throw unsupported(`${path.attr}[…]`);
      const column = schema.columns[qualifiedKey(schema, path)];
      if (!column) throw unsupported(path.sub ? `${path.attr}.${path.sub}` : path.attr);
      return compareSql(column.sql, column, node.op, node.value, p);
    }
  }
}
