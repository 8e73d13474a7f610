import { Injectable } from '@nestjs/common';
import { ChangeCache, ChangeFeed } from '../database/change-feed';
import { ConnectionEntity } from './connection.entity';
import { ConnectionsRepository } from './connections.repository';

/**
 * Connections as the login path reads them (by slug or id, several times per login), cached per instance
 * and dropped on any change to the connections table on any instance (ChangeFeed). The entities returned
 * are shared and frozen: read them, never change them (the admin API reads its own copies).
 */
@Injectable()
export class ConnectionLookup {
  private readonly cache: ChangeCache<ConnectionEntity | null>;

  constructor(
    private readonly connections: ConnectionsRepository,
    feed: ChangeFeed,
  ) {
    this.cache = new ChangeCache(feed, ['connections']);
  }

  bySlug(slug: string): Promise<ConnectionEntity | null> {
    return this.cache.get(`slug:${slug}`, () => this.connections.findBySlug(slug));
  }

  byId(id: string): Promise<ConnectionEntity | null> {
    return this.cache.get(`id:${id}`, () => this.connections.findById(id));
  }

  /** The enabled connections that list this email domain (their slugs, in order): login_hint routing. */
  enabledWithDomain(domain: string): Promise<Array<{ slug: string }>> {
    return this.connections.enabledWithDomain(domain);
  }
}
