import { runInBackground } from './background';

export interface GroupCommitOptions<I, O> {
  /** What is written, for the log line of a write that failed outside any caller (never expected). */
  name: string;
  /**
   * At most how many of the queued items (oldest first) go into the next write (at least one is taken); it
   * may stop reading `queued` as soon as it knows.
   */
  nextBatch: (queued: Iterable<I>) => number;
  /**
   * Writes a batch (one statement or one short transaction: one commit) and answers each item's result, in
   * order. An item without a result fails; a write that throws fails the whole batch with its error.
   */
  write: (batch: I[]) => Promise<O[]>;
}

/**
 * A group commit: one write at a time per instance, and the items submitted meanwhile go together into the
 * next one. A lone item is written at once (no timer), so at low load nothing waits longer than its own
 * write; under load one commit serves a whole batch instead of one commit per item. Each caller's promise
 * settles once the write holding its item did. Used by the audit log's appends and the SSO traces.
 */
export class GroupCommit<I, O> {
  private readonly queue: Array<{ item: I; resolve: (result: O) => void; reject: (err: unknown) => void }> =
    [];
  private writing = false;

  constructor(private readonly options: GroupCommitOptions<I, O>) {}

  /** Queues the item for the next write; its result once that write is done. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.writing) runInBackground(`${this.options.name} group commit`, this.drain());
    });
  }

  /** The queued items, oldest first, read in place. */
  private *items(): Iterable<I> {
    for (const queued of this.queue) yield queued.item;
  }

  /** Writes the queued items, a batch at a time, until none is left. */
  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const length = Math.max(1, this.options.nextBatch(this.items()));
        const batch = this.queue.splice(0, length);
        try {
          const results = await this.options.write(batch.map((b) => b.item));
          batch.forEach((b, i) => {
            if (i < results.length) b.resolve(results[i] as O);
            else b.reject(new Error(`The ${this.options.name} batch wrote fewer items than it was given`));
          });
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
