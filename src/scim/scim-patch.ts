import { ScimError } from './scim-error';
import { parseFilter, type FilterNode, type ScimValue } from './scim-filter';

/**
 * SCIM PATCH (RFC 7644 §3.5.2) on a resource's JSON representation: each operation applied in order to
 * a copy; the caller validates and stores the result (or nothing, if any operation fails). Accepts what
 * Entra ID and Okta send besides the RFC's own forms: capitalised ops (`"Replace"`), path-less operations
 * whose value object uses paths as keys (`{"name.givenName": "…"}`, `{"urn:…:User:department": "…"}`), and
 * `remove` of `members` with a value list (remove those members, not all of them).
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface PatchSchema {
  /** The resource's core schema URN (`urn:…:core:2.0:User`). */
  coreSchema: string;
  /** Extension schema URNs whose attributes live in an object under that URN. */
  extensions: string[];
  /** Canonical spelling of each known attribute (case-insensitive SCIM names → stored key). */
  attributes: string[];
  /** Attributes a client may not change (`id`, `meta`, `groups`…), lower case. */
  readOnly: string[];
  /** Multi-valued attributes (lower case): add appends, a value path selects elements. */
  multiValued: string[];
}

export const MAX_OPERATIONS = 1000;

interface Target {
  /** Where the attribute lives: the resource itself or an extension's object. */
  container: string | null;
  attr: string;
  filter?: FilterNode;
  sub?: string;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const clone = <T extends Json>(v: T): T => structuredClone(v);

function canonical(names: string[], name: string): string {
  return names.find((n) => n.toLowerCase() === name.toLowerCase()) ?? name;
}

/** The key of `name` in `obj`, matched case-insensitively (SCIM names are), or `name` when absent. */
function keyIn(obj: JsonObject, name: string): string {
  return Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
}

/** Parses a PATCH path (`emails[type eq "work"].value`, `urn:…:User:manager`, `name.familyName`). */
export function parsePath(path: string, schema: PatchSchema): Target {
  if (path.length > 1000) throw ScimError.badRequest('invalidPath', 'The path is too long.');
  let rest = path.trim();
  let container: string | null = null;
  const ext = schema.extensions.find((e) => rest.toLowerCase().startsWith(`${e.toLowerCase()}:`));
  if (ext) {
    container = ext;
    rest = rest.slice(ext.length + 1);
  } else if (rest.toLowerCase().startsWith(`${schema.coreSchema.toLowerCase()}:`)) {
    rest = rest.slice(schema.coreSchema.length + 1);
  } else if (/^urn:/i.test(rest)) {
    throw ScimError.badRequest(
      'invalidPath',
      `${JSON.stringify(path)} names a schema this resource does not have.`,
    );
  }
  const m = /^([A-Za-z$][A-Za-z0-9_$-]*)(?:\[(.*)\])?(?:\.([A-Za-z$][A-Za-z0-9_$-]*))?$/s.exec(rest);
  if (!m) throw ScimError.badRequest('invalidPath', `${JSON.stringify(path)} is not a valid attribute path.`);
  let filter: FilterNode | undefined;
  if (m[2] !== undefined) {
    try {
      filter = parseFilter(m[2]);
    } catch (err) {
      throw ScimError.badRequest(
        'invalidPath',
        `The filter in ${JSON.stringify(path)}: ${(err as Error).message}`,
      );
    }
  }
  return { container, attr: canonical(schema.attributes, m[1] as string), filter, sub: m[3] };
}

function valueOf(element: Json, attr: string): Json | undefined {
  if (!isObject(element)) return attr.toLowerCase() === 'value' ? element : undefined;
  return element[keyIn(element, attr)];
}

function compare(actual: Json | undefined, op: string, expected: ScimValue | undefined): boolean {
  if (op === 'pr') return actual !== undefined && actual !== null && actual !== '';
  if (expected === null) return op === 'eq' ? actual == null : actual != null;
  if (typeof expected === 'boolean') {
    const a = typeof actual === 'string' ? actual.toLowerCase() === 'true' : actual === true;
    return op === 'eq' ? a === expected : a !== expected;
  }
  const a = actual == null ? '' : String(actual as string).toLowerCase();
  const e = String(expected).toLowerCase();
  switch (op) {
    case 'eq':
      return actual != null && a === e;
    case 'ne':
      return actual == null || a !== e;
    case 'co':
      return a.includes(e);
    case 'sw':
      return a.startsWith(e);
    case 'ew':
      return a.endsWith(e);
    default:
      return false;
  }
}

/** Whether one element of a multi-valued attribute matches a value filter. */
export function elementMatches(element: Json, node: FilterNode): boolean {
  switch (node.kind) {
    case 'and':
      return elementMatches(element, node.left) && elementMatches(element, node.right);
    case 'or':
      return elementMatches(element, node.left) || elementMatches(element, node.right);
    case 'not':
      return !elementMatches(element, node.node);
    case 'valuePath':
      throw ScimError.badRequest('invalidPath', 'A value path cannot be nested in another.');
    case 'compare':
      if (node.path.sub || node.path.elementFilter)
        throw ScimError.badRequest('invalidPath', 'A value filter compares sub-attributes of one element.');
      return compare(valueOf(element, node.path.attr), node.op, node.value);
  }
}

/** The element an eq-only filter describes (`type eq "work"` → `{type: "work"}`), for replace-as-add. */
function elementFromFilter(node: FilterNode): JsonObject | undefined {
  if (node.kind === 'compare' && node.op === 'eq' && !node.path.sub && node.value !== undefined) {
    return { [node.path.attr]: node.value };
  }
  if (node.kind === 'and') {
    const l = elementFromFilter(node.left);
    const r = elementFromFilter(node.right);
    return l && r ? { ...l, ...r } : undefined;
  }
  return undefined;
}

function containerOf(resource: JsonObject, target: Target, create: boolean): JsonObject | undefined {
  if (!target.container) return resource;
  const key = keyIn(resource, target.container);
  const existing = resource[key];
  if (isObject(existing)) return existing;
  if (!create) return undefined;
  const made: JsonObject = {};
  resource[key] = made;
  return made;
}

function sameElement(a: Json, b: Json): boolean {
  const va = valueOf(a, 'value');
  const vb = valueOf(b, 'value');
  if (va !== undefined && vb !== undefined) return String(va as string) === String(vb as string);
  return JSON.stringify(a) === JSON.stringify(b);
}

function isMulti(schema: PatchSchema, attr: string): boolean {
  return schema.multiValued.includes(attr.toLowerCase());
}

function checkWritable(schema: PatchSchema, target: Target): void {
  if (!target.container && schema.readOnly.includes(target.attr.toLowerCase())) {
    throw new ScimError(400, `${target.attr} cannot be changed.`, 'mutability');
  }
}

function apply(
  resource: JsonObject,
  op: 'add' | 'replace' | 'remove',
  target: Target,
  value: Json | undefined,
  schema: PatchSchema,
): void {
  checkWritable(schema, target);
  const holder = containerOf(resource, target, op !== 'remove');
  if (!holder) return;
  const key = keyIn(holder, target.attr);
  const current = holder[key];
  const multi = isMulti(schema, target.attr);

  if (target.filter) {
    if (!multi)
      throw ScimError.badRequest(
        'invalidPath',
        `${target.attr} is not multi-valued: it has no elements to filter.`,
      );
    const list = Array.isArray(current) ? current : [];
    const filter = target.filter;
    const matched = list.filter((e) => elementMatches(e, filter));
    if (op === 'remove') {
      if (target.sub) {
        for (const e of matched) if (isObject(e)) delete e[keyIn(e, target.sub)];
      } else {
        holder[key] = list.filter((e) => !matched.includes(e));
      }
      return;
    }
    if (value === undefined) throw ScimError.badRequest('invalidValue', `"${op}" needs a value.`);
    if (matched.length === 0) {
      // Entra replaces emails[type eq "work"].value on a user without a work email: add that element.
      // Without a sub-attribute, RFC 7644 §3.5.2.3 says noTarget.
      const made = target.sub ? elementFromFilter(filter) : undefined;
      if (!made || !target.sub)
        throw ScimError.badRequest('noTarget', `No element of ${target.attr} matches the filter.`);
      holder[key] = [...list, { ...made, [target.sub]: value }];
      return;
    }
    for (const e of matched) {
      if (target.sub) {
        if (isObject(e)) e[keyIn(e, target.sub)] = value;
      } else if (isObject(e) && isObject(value)) {
        if (op === 'replace') {
          for (const k of Object.keys(e)) delete e[k];
        }
        Object.assign(e, value);
      } else {
        throw ScimError.badRequest('invalidValue', `Elements of ${target.attr} are objects.`);
      }
    }
    return;
  }

  if (target.sub) {
    if (op === 'remove') {
      if (isObject(current)) delete current[keyIn(current, target.sub)];
      return;
    }
    if (multi) throw ScimError.badRequest('invalidPath', `Select elements of ${target.attr} with a filter.`);
    const obj: JsonObject = isObject(current) ? current : {};
    obj[keyIn(obj, target.sub)] = value as Json;
    holder[key] = obj;
    return;
  }

  if (op === 'remove') {
    if (multi && Array.isArray(value)) {
      // Entra and Okta: remove these members (by value), not the whole list.
      const list = Array.isArray(current) ? current : [];
      holder[key] = list.filter((e) => !value.some((v) => sameElement(e, v)));
      return;
    }
    delete holder[key];
    return;
  }
  if (value === undefined) throw ScimError.badRequest('invalidValue', `"${op}" needs a value.`);
  if (multi) {
    const values = Array.isArray(value) ? value : [value];
    if (op === 'replace') {
      holder[key] = values;
      return;
    }
    const list = Array.isArray(current) ? [...current] : [];
    for (const v of values) if (!list.some((e) => sameElement(e, v))) list.push(v);
    holder[key] = list;
    return;
  }
  if (op === 'add' && isObject(current) && isObject(value)) {
    Object.assign(current, value);
    return;
  }
  holder[key] = value;
}

/** The operations of a PatchOp body, checked; capitalised op names are accepted. */
export function patchOperations(
  body: unknown,
): Array<{ op: 'add' | 'replace' | 'remove'; path?: string; value?: Json }> {
  if (!isObject(body as Json))
    throw ScimError.badRequest('invalidSyntax', 'A PATCH body is a PatchOp JSON object.');
  const obj = body as JsonObject;
  const ops = obj[keyIn(obj, 'Operations')];
  if (!Array.isArray(ops) || ops.length === 0) {
    throw ScimError.badRequest('invalidSyntax', 'A PatchOp has a non-empty "Operations" list.');
  }
  if (ops.length > MAX_OPERATIONS) {
    throw new ScimError(413, `A PatchOp has at most ${MAX_OPERATIONS} operations.`, 'tooMany');
  }
  return ops.map((o, i) => {
    if (!isObject(o)) throw ScimError.badRequest('invalidSyntax', `Operation ${i + 1} is not an object.`);
    const name = o[keyIn(o, 'op')];
    const op = typeof name === 'string' ? name.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw ScimError.badRequest('invalidSyntax', `Operation ${i + 1}: "op" is add, replace or remove.`);
    }
    const path = o[keyIn(o, 'path')];
    if (path !== undefined && path !== null && typeof path !== 'string') {
      throw ScimError.badRequest('invalidPath', `Operation ${i + 1}: "path" is a string.`);
    }
    const value = o[keyIn(o, 'value')];
    return {
      op,
      ...(typeof path === 'string' && path.trim() ? { path } : {}),
      ...(value !== undefined ? { value } : {}),
    };
  });
}

/** Applies a PatchOp body to a copy of `resource`; throws ScimError (nothing changed) on any bad operation. */
export function applyPatch(resource: JsonObject, body: unknown, schema: PatchSchema): JsonObject {
  const result = clone(resource);
  for (const { op, path, value } of patchOperations(body)) {
    if (path) {
      apply(result, op, parsePath(path, schema), value, schema);
      continue;
    }
    if (op === 'remove') throw ScimError.badRequest('noTarget', 'A "remove" operation needs a path.');
    if (!isObject(value ?? null)) {
      throw ScimError.badRequest('invalidValue', `A "${op}" without a path takes an object of attributes.`);
    }
    for (const [k, v] of Object.entries(value as JsonObject)) {
      const ext = schema.extensions.find((e) => e.toLowerCase() === k.toLowerCase());
      if (ext && isObject(v)) {
        // {"urn:…:enterprise:2.0:User": {"department": "…"}}: each attribute of the extension.
        for (const [ek, ev] of Object.entries(v))
          apply(result, op, parsePath(`${ext}:${ek}`, schema), ev, schema);
        continue;
      }
      // Okta repeats the id in a path-less replace of a group: read-only attributes are ignored here.
      if (k.toLowerCase() === 'schemas' || schema.readOnly.includes(k.toLowerCase())) continue;
      apply(result, op, parsePath(k, schema), v, schema);
    }
  }
  return result;
}
