import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { returnedRows } from '../database/returned-rows';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { SecretBox } from '../keys/secret-box';

export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
/** A retired key stays published this long after it stopped signing (longer than any token it signed lives). */
export const RETIRED_KEY_PUBLISH_MS = 2 * 86_400_000;
const KEY_LOCK = 727_002;

export interface SigningKeyRow {
  kid: string;
  alg: SigningAlg;
  status: 'next' | 'current' | 'retired';
  publicJwk: Record<string, unknown>;
}

/**
 * The OpenID Provider's signing keys, in PostgreSQL with private parts sealed by BRIDGE_SECRET. For each
 * algorithm: a current key (signs), a next key (published before it ever signs), and retired keys (still
 * published until every token they signed has expired).
 */
@Injectable()
export class OidcSigningKeysService {
  private readonly logger = new Logger('OidcSigningKeys');
  private readonly box: SecretBox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    @Inject(BRIDGE_CONFIG) config: BridgeConfig,
  ) {
    this.box = SecretBox.forConfig(config);
  }

  private async generate(
    alg: SigningAlg,
  ): Promise<{ kid: string; publicJwk: Record<string, unknown>; sealed: string }> {
    const jose = await import('jose');
    const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
    const publicJwk = await jose.exportJWK(publicKey);
    const kid = await jose.calculateJwkThumbprint(publicJwk);
    const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' };
    return {
      kid,
      publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
      sealed: this.box.seal(JSON.stringify(privateJwk)),
    };
  }

  private async insert(
    run: (sql: string, params: unknown[]) => Promise<unknown>,
    alg: SigningAlg,
    status: 'next' | 'current',
  ): Promise<string> {
    const key = await this.generate(alg);
    const now = this.clock.now();
    await run(
      `INSERT INTO oidc_signing_keys (kid, alg, status, public_jwk, private_jwk_sealed, created_at, activated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        key.kid,
        alg,
        status,
        JSON.stringify(key.publicJwk),
        key.sealed,
        now,
        status === 'current' ? now : null,
      ],
    );
    return key.kid;
  }

  /** Makes sure every algorithm has a current and a next key (safe when instances start together). */
  async ensureKeys(): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
      const rows: Array<{ alg: SigningAlg; status: string }> = await m.query(
        `SELECT alg, status FROM oidc_signing_keys WHERE status IN ('current','next')`,
      );
      const created: Array<{ kid: string; alg: SigningAlg; status: string }> = [];
      for (const alg of SIGNING_ALGS) {
        for (const status of ['current', 'next'] as const) {
          if (!rows.some((r) => r.alg === alg && r.status === status)) {
            created.push({
              kid: await this.insert((sql, params) => m.query(sql, params), alg, status),
              alg,
              status,
            });
          }
        }
      }
      if (created.length > 0) {
        await this.audit.record({ type: 'oidc_keys.generated', data: { created } }, m);
      }
    });
  }

  /** Rotation: next → current (it was already published), current → retired, and a new next. */
  async rotate(): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
      const now = this.clock.now();
      const rotated: Array<{ alg: SigningAlg; retired: string[]; current: string[]; next: string }> = [];
      for (const alg of SIGNING_ALGS) {
        const retired = returnedRows<{ kid: string }>(
          await m.query(
            `UPDATE oidc_signing_keys SET status = 'retired', retired_at = $2, publish_until = $3
              WHERE alg = $1 AND status = 'current' RETURNING kid`,
            [alg, now, new Date(now.getTime() + RETIRED_KEY_PUBLISH_MS)],
          ),
        );
        const current = returnedRows<{ kid: string }>(
          await m.query(
            `UPDATE oidc_signing_keys SET status = 'current', activated_at = $2 WHERE alg = $1 AND status = 'next' RETURNING kid`,
            [alg, now],
          ),
        );
        const next = await this.insert((sql, params) => m.query(sql, params), alg, 'next');
        rotated.push({
          alg,
          retired: retired.map((r) => r.kid),
          current: current.map((r) => r.kid),
          next,
        });
      }
      const purged = returnedRows<{ kid: string }>(
        await m.query(
          `DELETE FROM oidc_signing_keys WHERE status = 'retired' AND publish_until <= $1 RETURNING kid`,
          [now],
        ),
      );
      await this.audit.record(
        { type: 'oidc_keys.rotated', data: { keys: rotated, unpublished: purged.map((r) => r.kid) } },
        m,
      );
    });
    this.logger.log('OIDC signing keys rotated');
  }

  /** A fingerprint of the key set: changes whenever a key is added, promoted or retired. */
  async version(): Promise<string> {
    const rows: Array<{ v: string | null }> = await this.dataSource.query(
      `SELECT string_agg(kid || ':' || status, ',' ORDER BY kid) AS v FROM oidc_signing_keys
        WHERE status <> 'retired' OR publish_until > $1`,
      [this.clock.now()],
    );
    return rows[0]?.v ?? '';
  }

  /** Private JWKs for the provider: current keys first (they sign), then next and retired (published only). */
  async privateJwks(): Promise<Array<Record<string, unknown>>> {
    const rows: Array<{ status: string; private_jwk_sealed: string }> = await this.dataSource.query(
      `SELECT status, private_jwk_sealed FROM oidc_signing_keys
        WHERE status <> 'retired' OR publish_until > $1
        ORDER BY CASE status WHEN 'current' THEN 0 WHEN 'next' THEN 1 ELSE 2 END, CASE alg WHEN 'RS256' THEN 0 ELSE 1 END, created_at DESC`,
      [this.clock.now()],
    );
    return rows.map((r) => JSON.parse(this.box.open(r.private_jwk_sealed)) as Record<string, unknown>);
  }

  async list(): Promise<
    Array<SigningKeyRow & { createdAt: string; retiredAt: string | null; publishUntil: string | null }>
  > {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT kid, alg, status, public_jwk, created_at, retired_at, publish_until FROM oidc_signing_keys ORDER BY created_at`,
    );
    return rows.map((r) => ({
      kid: r.kid as string,
      alg: r.alg as SigningAlg,
      status: r.status as SigningKeyRow['status'],
      publicJwk: r.public_jwk as Record<string, unknown>,
      createdAt: new Date(r.created_at as string).toISOString(),
      retiredAt: r.retired_at ? new Date(r.retired_at as string).toISOString() : null,
      publishUntil: r.publish_until ? new Date(r.publish_until as string).toISOString() : null,
    }));
  }
}
