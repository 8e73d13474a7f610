import { Client } from 'pg';

/**
 * Calls `seen` with the SQL text of every query any pg client sends from now on (TypeORM, the `Statements`
 * helper and raw pool queries alike), before it is sent; the returned function stops watching.
 */
export function watchStatements(seen: (client: Client, text: string) => void): () => void {
  const original = Client.prototype.query;
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    const first = args[0];
    const text =
      typeof first === 'string'
        ? first
        : typeof first === 'object' && first !== null && 'text' in first
          ? String((first as { text: unknown }).text)
          : '';
    if (text) seen(this, text);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof Client.prototype.query;
  return () => {
    Client.prototype.query = original;
  };
}
