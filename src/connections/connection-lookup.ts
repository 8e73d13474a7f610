import { Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { ChangeCache, ChangeFeed } from '../database/change-feed';
import { ConnectionEntity } from './connection.entity';

/**
 * Connections as the login path reads them (by slug or id, several times per login), cached per instance
 * and dropped on any change to the connections table on any instance (ChangeFeed). The entities returned
 * are shared and frozen: read them, never change them (the admin API reads its own copies).
 */
@Injectable()
export class ConnectionLookup {
  private readonly connections: Repository<ConnectionEntity>;
  private readonly cache: ChangeCache<ConnectionEntity | null>;

  constructor(dataSource: DataSource, feed: ChangeFeed) {
    this.connections = dataSource.getRepository(ConnectionEntity);
    this.cache = new ChangeCache(feed, ['connections']);
  }

  bySlug(slug: string): Promise<ConnectionEntity | null> {
    return this.cache.get(`slug:${slug}`, () => this.connections.findOne({ where: { slug } }));
  }

  byId(id: string): Promise<ConnectionEntity | null> {
    return this.cache.get(`id:${id}`, () => this.connections.findOne({ where: { id } }));
  }
}
