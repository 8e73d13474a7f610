import { createHash } from 'node:crypto';
import { canonicalJson } from './audit-hash';

/** What a secret is replaced with in the audit log. */
export const REDACTED = '[redacted]';

/**
 * Names of members that hold secrets or sensitive material: client secret hashes, API key hashes, sealed
 * private keys, private keys, passwords, tokens, SAML messages and assertions. Matched case-insensitively.
 */
const SECRET_KEY =
  /(secret|password|passphrase|hash$|sealed|^private|privatekey|^(session|access|refresh|id)?token$|^samlresponse$|^samlrequest$|^samlmessage$|^saml_message$|^assertion(xml)?$|keymaterial|key_material)/i;
/** Private members of a JWK (when an object with `kty` carries them). */
const JWK_PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);
/** Values that are secrets whatever their member is called: PEM private keys, the bridge's own secrets. */
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|^(sb[ksl]|sct)_[A-Za-z0-9_-]{20,}$/;
/** Longer strings (metadata documents, certificates) are replaced by their length and SHA-256. */
const MAX_STRING = 2048;
const MAX_DEPTH = 12;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function cleanString(value: string): string {
  // jsonb refuses NUL and lone surrogates: store what PostgreSQL can keep exactly (so hashes round-trip).
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\ufffd');
  if (SECRET_VALUE.test(clean)) return REDACTED;
  if (clean.length > MAX_STRING) {
    return `[${clean.length} chars, sha256:${createHash('sha256').update(clean, 'utf8').digest('hex')}]`;
  }
  return clean;
}

function walk(value: unknown, depth: number, redact = true): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return redact ? cleanString(value) : value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (typeof value !== 'object') return null;
  if (depth >= MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, redact));
  const record = value as Record<string, unknown>;
  const isJwk = typeof record.kty === 'string';
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(record)) {
    if (v === undefined || typeof v === 'function') continue;
    const secret = redact && (SECRET_KEY.test(key) || (isJwk && JWK_PRIVATE.has(key)));
    // A secret member keeps null / true / false / numbers (whether there is one, a lifetime) but never a value.
    out[cleanString(key)] =
      secret && v !== null && typeof v !== 'boolean' && typeof v !== 'number'
        ? REDACTED
        : walk(v, depth + 1, redact);
  }
  return out;
}

/**
 * The one place audit data goes through before it is stored: secrets are redacted (by member name and by
 * recognisable value), long documents are summarised, and the result is plain JSON that PostgreSQL's jsonb
 * stores and returns unchanged (so the event's hash can be recomputed from the stored row).
 */
export function redactSecrets(value: Record<string, unknown>): Record<string, unknown> {
  return walk(value, 0) as Record<string, unknown>;
}

/**
 * Before/after of an admin change, limited to the members that changed (compared before redaction, so a
 * rotated secret shows as changed), both sides redacted. Undefined when nothing changed.
 */
export function changeSet(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): { before: Record<string, unknown>; after: Record<string, unknown> } | undefined {
  const changedBefore: Record<string, unknown> = {};
  const changedAfter: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    // Compared unredacted, so that a changed secret shows as changed (as [redacted] on both sides).
    if (canonicalJson(walk(before[key], 0, false)) === canonicalJson(walk(after[key], 0, false))) continue;
    changedBefore[key] = before[key] ?? null;
    changedAfter[key] = after[key] ?? null;
  }
  if (Object.keys(changedAfter).length === 0) return undefined;
  return {
    before: walk(changedBefore, 0) as Record<string, unknown>,
    after: walk(changedAfter, 0) as Record<string, unknown>,
  };
}
