import { Injectable } from '@nestjs/common';
import { DataSource, type DeepPartial, type Repository } from 'typeorm';
import type { Transaction } from '../database/transactions';
import { OidcClientEntity } from './oidc-client.entity';

/** The oidc_clients table: the internal apps registered with the OpenID Provider. */
@Injectable()
export class OidcClientsRepository {
  private readonly clients: Repository<OidcClientEntity>;

  constructor(dataSource: DataSource) {
    this.clients = dataSource.getRepository(OidcClientEntity);
  }

  /** A new, unsaved app with these fields. */
  build(fields: DeepPartial<OidcClientEntity>): OidcClientEntity {
    return this.clients.create(fields);
  }

  /** Every app, oldest first. */
  listOldestFirst(): Promise<OidcClientEntity[]> {
    return this.clients.find({ order: { createdAt: 'ASC' } });
  }

  findByClientId(clientId: string): Promise<OidcClientEntity | null> {
    return this.clients.findOne({ where: { clientId } });
  }

  /** Inserts or updates the app in the transaction and returns it as saved. */
  save(tx: Transaction, client: OidcClientEntity): Promise<OidcClientEntity> {
    return tx.getRepository(OidcClientEntity).save(client);
  }

  /** The app locked for update until the transaction ends, or null. */
  lockByClientId(tx: Transaction, clientId: string): Promise<OidcClientEntity | null> {
    return tx
      .getRepository(OidcClientEntity)
      .findOne({ where: { clientId }, lock: { mode: 'pessimistic_write' } });
  }

  async delete(tx: Transaction, clientId: string): Promise<void> {
    await tx.getRepository(OidcClientEntity).delete({ clientId });
  }
}
