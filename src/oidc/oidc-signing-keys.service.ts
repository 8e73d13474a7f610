import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import type { BridgeConfig } from '../config/bridge-config';
import { BRIDGE_CONFIG } from '../config/config.module';
import { Transactions, type Transaction } from '../database/transactions';
import { SecretBox } from '../keys/secret-box';
import {
  OidcSigningKeysRepository,
  SIGNING_ALGS,
  type SigningAlg,
  type SigningKeyStatus,
} from './oidc-signing-keys.repository';

export { SIGNING_ALGS, type SigningAlg } from './oidc-signing-keys.repository';
/** A retired key stays published this long after it stopped signing (longer than any token it signed lives). */
export const RETIRED_KEY_PUBLISH_MS = 2 * 86_400_000;

export interface SigningKeyRow {
  kid: string;
  alg: SigningAlg;
  status: SigningKeyStatus;
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
    private readonly keys: OidcSigningKeysRepository,
    private readonly transactions: Transactions,
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

  private async insert(tx: Transaction, alg: SigningAlg, status: 'next' | 'current'): Promise<string> {
    const key = await this.generate(alg);
    const now = this.clock.now();
    await this.keys.insert(tx, {
      kid: key.kid,
      alg,
      status,
      publicJwk: key.publicJwk,
      privateJwkSealed: key.sealed,
      createdAt: now,
      activatedAt: status === 'current' ? now : null,
    });
    return key.kid;
  }

  /** Makes sure every algorithm has a current and a next key (safe when instances start together). */
  async ensureKeys(): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.keys.lock(tx);
      const rows = await this.keys.activeSlots(tx);
      const created: Array<{ kid: string; alg: SigningAlg; status: string }> = [];
      for (const alg of SIGNING_ALGS) {
        for (const status of ['current', 'next'] as const) {
          if (!rows.some((r) => r.alg === alg && r.status === status)) {
            created.push({ kid: await this.insert(tx, alg, status), alg, status });
          }
        }
      }
      if (created.length > 0) {
        await this.audit.record({ type: 'oidc_keys.generated', data: { created } }, tx);
      }
    });
  }

  /** Rotation: next → current (it was already published), current → retired, and a new next. */
  async rotate(): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.keys.lock(tx);
      const now = this.clock.now();
      const rotated: Array<{ alg: SigningAlg; retired: string[]; current: string[]; next: string }> = [];
      for (const alg of SIGNING_ALGS) {
        const retired = await this.keys.retireCurrent(
          tx,
          alg,
          now,
          new Date(now.getTime() + RETIRED_KEY_PUBLISH_MS),
        );
        const current = await this.keys.promoteNext(tx, alg, now);
        const next = await this.insert(tx, alg, 'next');
        rotated.push({ alg, retired, current, next });
      }
      const unpublished = await this.keys.deleteUnpublished(tx, now);
      await this.audit.record({ type: 'oidc_keys.rotated', data: { keys: rotated, unpublished } }, tx);
    });
    this.logger.log('OIDC signing keys rotated');
  }

  /** A fingerprint of the key set: changes whenever a key is added, promoted or retired. */
  version(): Promise<string> {
    return this.keys.publishedFingerprint(this.clock.now());
  }

  /** Private JWKs for the provider: current keys first (they sign), then next and retired (published only). */
  async privateJwks(): Promise<Array<Record<string, unknown>>> {
    const sealed = await this.keys.publishedSealedJwks(this.clock.now());
    return sealed.map((s) => JSON.parse(this.box.open(s)) as Record<string, unknown>);
  }

  async list(): Promise<
    Array<SigningKeyRow & { createdAt: string; retiredAt: string | null; publishUntil: string | null }>
  > {
    const rows = await this.keys.list();
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      status: r.status,
      publicJwk: r.publicJwk,
      createdAt: r.createdAt.toISOString(),
      retiredAt: r.retiredAt ? r.retiredAt.toISOString() : null,
      publishUntil: r.publishUntil ? r.publishUntil.toISOString() : null,
    }));
  }
}
