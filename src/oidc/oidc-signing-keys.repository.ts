import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returnedRows } from '../database/returned-rows';
import type { Transaction } from '../database/transactions';

/** The signature algorithms the provider has keys for (one current and one next key each). */
export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export type SigningKeyStatus = 'next' | 'current' | 'retired';

/** The advisory lock that serialises key generation and rotation across instances. */
const KEY_LOCK = 727_002;

/** A key to store: its private part already sealed. */
export interface NewSigningKey {
  kid: string;
  alg: SigningAlg;
  status: 'next' | 'current';
  publicJwk: Record<string, unknown>;
  privateJwkSealed: string;
  createdAt: Date;
  activatedAt: Date | null;
}

/** A stored key as the admin API lists it (no private part). */
export interface StoredSigningKey {
  kid: string;
  alg: SigningAlg;
  status: SigningKeyStatus;
  publicJwk: Record<string, unknown>;
  createdAt: Date;
  retiredAt: Date | null;
  publishUntil: Date | null;
}

/** The oidc_signing_keys table: the provider's signing keys, private parts sealed. */
@Injectable()
export class OidcSigningKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Holds the key lock until the transaction ends (instances generating or rotating at once wait). */
  async lock(tx: Transaction): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
  }

  /** The algorithm and status of every current and next key. */
  activeSlots(tx: Transaction): Promise<Array<{ alg: SigningAlg; status: SigningKeyStatus }>> {
    return tx.query(`SELECT alg, status FROM oidc_signing_keys WHERE status IN ('current','next')`);
  }

  async insert(tx: Transaction, key: NewSigningKey): Promise<void> {
    await tx.query(
      `INSERT INTO oidc_signing_keys (kid, alg, status, public_jwk, private_jwk_sealed, created_at, activated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        key.kid,
        key.alg,
        key.status,
        JSON.stringify(key.publicJwk),
        key.privateJwkSealed,
        key.createdAt,
        key.activatedAt,
      ],
    );
  }

  /** The algorithm's current key(s) become retired at `now`, published until `publishUntil`; their kids. */
  async retireCurrent(tx: Transaction, alg: SigningAlg, now: Date, publishUntil: Date): Promise<string[]> {
    const rows = returnedRows<{ kid: string }>(
      await tx.query(
        `UPDATE oidc_signing_keys SET status = 'retired', retired_at = $2, publish_until = $3
          WHERE alg = $1 AND status = 'current' RETURNING kid`,
        [alg, now, publishUntil],
      ),
    );
    return rows.map((r) => r.kid);
  }

  /** The algorithm's next key(s) become current at `now`; their kids. */
  async promoteNext(tx: Transaction, alg: SigningAlg, now: Date): Promise<string[]> {
    const rows = returnedRows<{ kid: string }>(
      await tx.query(
        `UPDATE oidc_signing_keys SET status = 'current', activated_at = $2 WHERE alg = $1 AND status = 'next' RETURNING kid`,
        [alg, now],
      ),
    );
    return rows.map((r) => r.kid);
  }

  /** Deletes the retired keys no longer published at `now`; their kids. */
  async deleteUnpublished(tx: Transaction, now: Date): Promise<string[]> {
    const rows = returnedRows<{ kid: string }>(
      await tx.query(
        `DELETE FROM oidc_signing_keys WHERE status = 'retired' AND publish_until <= $1 RETURNING kid`,
        [now],
      ),
    );
    return rows.map((r) => r.kid);
  }

  /** `kid:status` of every key published at `now`, by kid, comma-separated ('' when there is none). */
  async publishedFingerprint(now: Date): Promise<string> {
    const rows: Array<{ v: string | null }> = await this.dataSource.query(
      `SELECT string_agg(kid || ':' || status, ',' ORDER BY kid) AS v FROM oidc_signing_keys
        WHERE status <> 'retired' OR publish_until > $1`,
      [now],
    );
    return rows[0]?.v ?? '';
  }

  /**
   * The sealed private JWKs of the keys published at `now`: current first, then next, then retired; RS256
   * before ES256; newest first.
   */
  async publishedSealedJwks(now: Date): Promise<string[]> {
    const rows: Array<{ status: string; private_jwk_sealed: string }> = await this.dataSource.query(
      `SELECT status, private_jwk_sealed FROM oidc_signing_keys
        WHERE status <> 'retired' OR publish_until > $1
        ORDER BY CASE status WHEN 'current' THEN 0 WHEN 'next' THEN 1 ELSE 2 END, CASE alg WHEN 'RS256' THEN 0 ELSE 1 END, created_at DESC`,
      [now],
    );
    return rows.map((r) => r.private_jwk_sealed);
  }

  /** Every stored key, oldest first. */
  async list(): Promise<StoredSigningKey[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT kid, alg, status, public_jwk, created_at, retired_at, publish_until FROM oidc_signing_keys ORDER BY created_at`,
    );
    return rows.map((r) => ({
      kid: r.kid as string,
      alg: r.alg as SigningAlg,
      status: r.status as SigningKeyStatus,
      publicJwk: r.public_jwk as Record<string, unknown>,
      createdAt: new Date(r.created_at as string),
      retiredAt: r.retired_at ? new Date(r.retired_at as string) : null,
      publishUntil: r.publish_until ? new Date(r.publish_until as string) : null,
    }));
  }
}
