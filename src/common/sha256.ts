import { createHash } from 'node:crypto';

/** Hex SHA-256 of a UTF-8 string: how opaque tokens, API keys and binding values are stored. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
