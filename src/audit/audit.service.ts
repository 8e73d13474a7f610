import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { afterCommit, type Transaction } from '../database/transactions';
import { PeriodicJobs } from '../database/periodic-jobs';
import { DomainError } from '../common/domain-error';
import { Clock } from '../common/clock';
import { isDatabaseUnavailable } from '../database/database-errors';
import { MetricsService } from '../metrics/metrics.service';
import { AuditActor, currentAuditActor, currentAuditRequest } from './audit-context';
import { ChainedEventFields, eventHash, GENESIS_HASH } from './audit-hash';
import { type AuditEvent, type AuditFilter, AuditRepository, type ChainHead } from './audit.repository';
import { redactSecrets } from './redact';
import { runInBackground } from '../common/background';
import { GroupCommit } from '../common/group-commit';
import { UUID } from '../common/uuid';

export type { AuditEvent, AuditFilter } from './audit.repository';

type Draft = Omit<ChainedEventFields, 'seq' | 'prevHash' | 'occurredAt'>;

/** An event for the group commit: `queued` when a transaction queued it (audit_pending) and committed. */
interface Append {
  draft: Draft;
  queued: boolean;
}

const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;

/** What a service reports; actor, request id, IP and time are filled in by the audit log. */
export interface AuditEventInput {
  /** Dotted, e.g. `connection.updated`, `login.failed`. */
  type: string;
  /** Who acted; default: the current request's actor (`currentAuditActor()`). */
  actor?: AuditActor;
  connectionId?: string | null;
  userId?: string | null;
  clientId?: string | null;
  /** Details; for admin changes `{before, after}`. Secrets are redacted before storing. */
  data?: Record<string, unknown>;
}

export type VerifyResult =
  | { ok: true; checked: number; lastSeq: number; lastHash: string }
  | {
      ok: false;
      checked: number;
      firstBrokenSeq: number;
      reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap';
    };

/** At most this many queued events go into one transaction. */
const MAX_BATCH = 200;
/** Events kept in memory, to append once the database is back, while it is unreachable. */
const MAX_DEFERRED = 10_000;
const DEFER_RETRY_MIN_MS = 1000;
const DEFER_RETRY_MAX_MS = 15_000;
/** How often the sweep looks for queued events that nobody chained, and how old they must be. */
const SWEEP_PERIOD_MS = 10_000;
const STALE_AFTER_SECONDS = 10;

function clip(value: string | null | undefined, max: number): string | null {
  return value === null || value === undefined || value === '' ? null : value.slice(0, max);
}

/**
 * The tamper-evident audit log. Each event's hash covers its fields and the previous event's hash; appends
 * are serialised across every instance by the chain head (a statement that advances it only from the head
 * this instance wrote last, or a short transaction that locks it), so the chain stays single and gap-free.
 *
 * An event recorded inside a change's transaction is queued in it (`audit_pending`) and commits with the
 * change; right after the COMMIT (before the caller's `Transactions.run` returns) it is chained by the group
 * commit, with the other events waiting then. No change's transaction holds the head's lock, so changes
 * commit side by side. An event still queued after its instance stopped is chained by the sweep (any
 * instance, every SWEEP_PERIOD_MS, with `data.delayedFrom` saying when it was queued).
 *
 * Failure policy (deliberate):
 * - `record()` throws. Admin changes call it inside their own transaction, so a change that cannot be audited
 *   is rolled back and the admin gets an error: no admin change is ever unaudited.
 * - `recordSafely()` never throws. Logins and logouts use it: the user's sign-in (or sign-out) already
 *   happened and must not become a 500 because the audit log is unavailable. When the database is
 *   unreachable (a restart, a failover) the event is kept in memory (at most MAX_DEFERRED) and appended
 *   once it is back, with `data.delayedFrom` saying when it happened; its id makes the retry idempotent
 *   (an append that committed but whose answer was lost is not added twice). An event that cannot be
 *   appended at all (another error, the buffer full, the process stopping with events still waiting) is
 *   logged at error level with the event and counted in `bridge_audit_append_failures_total` for alerting.
 */
@Injectable()
export class AuditService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  /**
   * Group commit: one append at a time per instance, of the events outside a caller's transaction (logins,
   * logouts) and of those transactions queued and committed; events that arrive meanwhile go together into
   * the next one (see appendBatch). An event's result is undefined when the sweep chained it first.
   */
  private readonly appends = new GroupCommit<Append, AuditEvent | undefined>({
    name: 'audit',
    nextBatch: () => MAX_BATCH,
    write: (drafts) => this.appendBatch(drafts),
  });
  /** Events of `recordSafely` not appended because the database was unreachable, oldest first. */
  private readonly deferred: Draft[] = [];
  private deferTimer?: NodeJS.Timeout;
  private deferRetryMs = DEFER_RETRY_MIN_MS;
  /**
   * The head this instance wrote last: the next group commit appends after it in one statement, and falls
   * back to locking the head when it has moved (another instance, the sweep).
   */
  private knownHead?: ChainHead;

  constructor(
    private readonly repository: AuditRepository,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly jobs: PeriodicJobs,
  ) {}

  /** Chains, every SWEEP_PERIOD_MS (one instance), the queued events their instance did not chain. */
  onApplicationBootstrap(): void {
    this.jobs.schedule({
      name: 'audit-queue-sweep',
      periodMs: SWEEP_PERIOD_MS,
      run: () => this.chainStale(),
    });
  }

  /**
   * Appends an event, or with `manager` queues it inside the caller's transaction (`Transactions.run`): the
   * change and its event commit together or not at all, and the event is chained right after the COMMIT,
   * before `run` returns. Throws on failure: `audit_unavailable` (503) unless the database itself is down
   * (then the usual `database_unavailable`).
   */
  async record(input: AuditEventInput): Promise<AuditEvent>;
  async record(input: AuditEventInput, manager: Transaction): Promise<void>;
  async record(input: AuditEventInput, manager?: Transaction): Promise<AuditEvent | void> {
    const draft = this.draft(input);
    if (manager) afterCommit(manager, () => this.chainQueued(draft));
    try {
      if (manager) return await this.repository.enqueue(manager, draft.id, draft);
      const event = await this.appends.submit({ draft, queued: false });
      if (!event) throw new Error('The audit chain appended nothing');
      return event;
    } catch (err) {
      if (err instanceof DomainError || isDatabaseUnavailable(err)) throw err;
      this.logger.error(
        { err, auditEvent: { type: input.type } },
        `Audit append failed: ${(err as Error).message}`,
      );
      throw new DomainError(
        'unavailable',
        'audit_unavailable',
        'The audit log could not record this change, so it was not made. Retry shortly.',
      );
    }
  }

  /**
   * After its transaction committed: chains a queued event. When that fails the event stays queued (it
   * committed with the change) and the sweep chains it.
   */
  private async chainQueued(draft: Draft): Promise<void> {
    try {
      await this.appends.submit({ draft, queued: true });
    } catch (err) {
      this.metrics.auditLeftQueued.inc({ type: draft.type });
      this.logger.warn(
        { err, auditEvent: { type: draft.type } },
        `A committed audit event stays queued, for the sweep to chain: ${(err as Error).message}`,
      );
    }
  }

  /**
   * The sweep: chains the events queued over STALE_AFTER_SECONDS ago (their transactions committed; the
   * instance that queued them stopped before chaining them), oldest first, with `data.delayedFrom` their
   * queueing time. Returns how many it chained.
   */
  async chainStale(olderThanSeconds = STALE_AFTER_SECONDS): Promise<number> {
    let chained = 0;
    for (;;) {
      const events = await this.repository.appendStale(olderThanSeconds, MAX_BATCH, (head, stale) =>
        this.chain(
          stale.map(({ draft, queuedAt }) => {
            const d = draft as Draft;
            return { ...d, data: { ...d.data, delayedFrom: queuedAt.toISOString() } };
          }),
          head,
        ),
      );
      this.appended(events.at(-1));
      chained += events.length;
      if (events.length < MAX_BATCH) break;
    }
    this.metrics.auditSwept.inc(chained);
    if (chained) this.logger.warn(`Chained ${chained} audit event(s) that their instance had left queued`);
    return chained;
  }

  /** Remembers the newest head this instance appended (by seq): the next group commit appends after it. */
  private appended(last: AuditEvent | undefined): void {
    if (last && (!this.knownHead || last.seq > this.knownHead.lastSeq))
      this.knownHead = { lastSeq: last.seq, lastHash: last.hash };
  }

  /**
   * One batch of the group commit: one statement (one round trip, one commit) after the head this instance
   * wrote last, when that is still the head; otherwise (the first batch, another instance or the sweep
   * appended since) one short transaction that locks the head (3 round trips, 4 with queued events). Under
   * load one commit (its fsync) serves a whole batch, so throughput is not bounded by one commit per event.
   * The chain stays single and gap-free either way: the head only advances from exactly the seq and hash
   * the batch was chained after, and a queued event is chained only by the append that takes it out of
   * the queue.
   */
  private async appendBatch(items: Append[]): Promise<Array<AuditEvent | undefined>> {
    const queued = items.filter((i) => i.queued).map((i) => i.draft.id);
    const known = this.knownHead;
    this.knownHead = undefined;
    let events: Array<AuditEvent | undefined> | undefined;
    if (known) {
      const chained = this.chain(
        items.map((i) => i.draft),
        known,
      );
      if (await this.repository.appendAfterKnownHead(known, chained, queued)) events = chained;
    }
    if (!events) {
      const chained = await this.repository.appendLocked(queued, (head, stillQueued) =>
        this.chain(
          items.filter((i) => !i.queued || stillQueued.has(i.draft.id)).map((i) => i.draft),
          head,
        ),
      );
      const byId = new Map(chained.map((e) => [e.id, e]));
      events = items.map((i) => byId.get(i.draft.id));
    }
    this.appended(events.findLast((e) => e !== undefined));
    return events;
  }

  /** Appends an event for an action that already happened (logins, logouts): never throws (see above). */
  async recordSafely(input: AuditEventInput): Promise<AuditEvent | undefined> {
    let draft: Draft | undefined;
    try {
      draft = this.draft(input);
      return await this.appends.submit({ draft, queued: false });
    } catch (err) {
      if (draft && isDatabaseUnavailable(err) && this.defer(draft)) return undefined;
      this.appendFailed(input, err);
      return undefined;
    }
  }

  private appendFailed(
    event: Pick<AuditEventInput, 'type' | 'connectionId' | 'userId' | 'clientId'>,
    err: unknown,
  ): void {
    this.metrics.auditAppendFailures.inc({ type: event.type });
    this.logger.error(
      {
        err,
        auditEvent: {
          type: event.type,
          connectionId: event.connectionId,
          userId: event.userId,
          clientId: event.clientId,
        },
      },
      `Could not append the audit event ${event.type}: ${(err as Error).message}`,
    );
  }

  /** Keeps an event to append when the database is back; false when the buffer is full. */
  private defer(draft: Draft): boolean {
    if (this.deferred.length >= MAX_DEFERRED) return false;
    const delayedFrom = this.clock.now().toISOString();
    this.deferred.push({ ...draft, data: { ...draft.data, delayedFrom } });
    if (this.deferred.length === 1) {
      this.logger.warn('The database is unreachable: audit events are kept in memory until it is back');
    }
    this.scheduleDeferred();
    return true;
  }

  private scheduleDeferred(): void {
    if (this.deferTimer || this.deferred.length === 0) return;
    this.deferTimer = setTimeout(() => {
      this.deferTimer = undefined;
      runInBackground('Deferred audit append', this.appendDeferred());
    }, this.deferRetryMs);
    this.deferTimer.unref();
  }

  /** Appends the deferred events (those not already there), oldest first; retried with backoff. */
  private async appendDeferred(): Promise<void> {
    const batch = this.deferred.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    try {
      const there = await this.repository.presentIds(batch.map((d) => d.id));
      const missing = batch.filter((d) => !there.has(d.id));
      if (missing.length) await this.appendBatch(missing.map((d) => ({ draft: d, queued: false })));
      this.deferRetryMs = DEFER_RETRY_MIN_MS;
      this.logger.log(`Appended ${missing.length} audit event(s) kept while the database was unreachable`);
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        this.deferred.unshift(...batch);
        this.deferRetryMs = Math.min(this.deferRetryMs * 2, DEFER_RETRY_MAX_MS);
      } else {
        for (const d of batch) this.appendFailed(d, err);
      }
    }
    this.scheduleDeferred();
  }

  /** The last chance for events kept while the database was unreachable; those that still fail are reported. */
  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    while (this.deferred.length > 0) {
      const before = this.deferred.length;
      await this.appendDeferred();
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
      if (this.deferred.length >= before) {
        for (const d of this.deferred.splice(0)) {
          this.appendFailed(d, new Error('the database is unreachable and the process is stopping'));
        }
      }
    }
  }

  /** Events matching the filter, newest first, before the given seq (the cursor). */
  async list(
    filter: AuditFilter,
    page: { beforeSeq?: number; limit: number },
  ): Promise<{ items: AuditEvent[]; nextBeforeSeq?: number }> {
    const rows = await this.repository.newestFirst(filter, page.beforeSeq, page.limit + 1);
    const items = rows.slice(0, page.limit);
    return {
      items,
      nextBeforeSeq: rows.length > page.limit ? items.at(-1)?.seq : undefined,
    };
  }

  /** Events matching the filter, oldest first, read in batches (never all in memory). */
  async *stream(filter: AuditFilter, batchSize = 500): AsyncGenerator<AuditEvent[]> {
    let afterSeq = 0;
    for (;;) {
      const events = await this.repository.oldestFirstAfter(filter, afterSeq, batchSize);
      if (events.length === 0) return;
      yield events;
      if (events.length < batchSize) return;
      afterSeq = events.at(-1)?.seq ?? afterSeq;
    }
  }

  /**
   * Recomputes the chain, in batches, up to the head read at the start: every seq present (1, 2, …), each
   * prevHash equal to the previous hash, each hash equal to the recomputed one, and the last event equal to
   * the head (so deleting the newest events is detected too). Reports the first broken link.
   *
   * Someone who can bypass the triggers (a database superuser) can also cut the tail and move the head
   * back; an `anchor` kept outside the database (the `lastSeq`/`lastHash` of an earlier verify) catches
   * that: the anchored event must still be there with the same hash.
   */
  async verify(batchSize = 1000, anchor?: { seq: number; hash: string }): Promise<VerifyResult> {
    const head = await this.repository.head();
    const headSeq = head?.lastSeq ?? 0;
    let expected = 1;
    let prevHash = GENESIS_HASH;
    let checked = 0;
    const broken = (seq: number, reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap') =>
      ({ ok: false, checked, firstBrokenSeq: seq, reason }) as const;
    while (expected <= headSeq) {
      const events = await this.repository.range(expected, headSeq, batchSize);
      if (events.length === 0) break;
      for (const event of events) {
        if (event.seq !== expected) return broken(expected, 'sequence_gap');
        if (event.prevHash !== prevHash) return broken(event.seq, 'prev_hash_mismatch');
        if (eventHash(event) !== event.hash) return broken(event.seq, 'hash_mismatch');
        if (anchor && event.seq === anchor.seq && event.hash !== anchor.hash) {
          return broken(event.seq, 'hash_mismatch');
        }
        prevHash = event.hash;
        expected++;
        checked++;
      }
    }
    // Events missing at the end (the head says there were more), or a rewritten last event.
    if (expected <= headSeq) return broken(expected, 'sequence_gap');
    if (headSeq > 0 && prevHash !== head?.lastHash) return broken(headSeq, 'hash_mismatch');
    // The chain is shorter than it was when the anchor was taken: its end was cut.
    if (anchor && anchor.seq > headSeq) return broken(headSeq + 1, 'sequence_gap');
    return { ok: true, checked, lastSeq: headSeq, lastHash: prevHash };
  }

  /** The event's fields that do not depend on its place in the chain. */
  private draft(input: AuditEventInput): Draft {
    if (!EVENT_TYPE.test(input.type) || input.type.length > 64) {
      throw new Error(`Invalid audit event type ${JSON.stringify(input.type)}`);
    }
    for (const [field, value] of [
      ['connectionId', input.connectionId],
      ['userId', input.userId],
    ] as const) {
      if (value !== undefined && value !== null && !UUID.test(value)) {
        throw new Error(`Audit event ${input.type}: ${field} is not a UUID`);
      }
    }
    const actor = input.actor ?? currentAuditActor();
    const request = currentAuditRequest();
    return {
      id: randomUUID(),
      type: input.type,
      actor: {
        type: actor.type,
        id: clip(actor.id, 200),
        name: clip(actor.name, 200) ?? actor.type,
      },
      connectionId: input.connectionId?.toLowerCase() ?? null,
      userId: input.userId?.toLowerCase() ?? null,
      clientId: clip(input.clientId, 64),
      requestId: clip(request.requestId, 64),
      ip: clip(request.ip, 64),
      data: redactSecrets(input.data ?? {}),
    };
  }

  /** Places the events after the head (locked, or the one this instance wrote last), in order, with hashes. */
  private chain(drafts: Draft[], head: ChainHead): AuditEvent[] {
    // Taken once the head is known (read under its lock, or written by this instance's previous batch,
    // which is over), in ms, so events are time-ordered like the chain and the value round-trips.
    const occurredAt = this.clock.now().toISOString();
    let seq = head.lastSeq;
    let prevHash = head.lastHash;
    return drafts.map((draft) => {
      const fields: ChainedEventFields = { ...draft, seq: ++seq, prevHash, occurredAt };
      const event = { ...fields, hash: eventHash(fields) };
      prevHash = event.hash;
      return event;
    });
  }
}
