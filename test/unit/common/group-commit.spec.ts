import { GroupCommit } from '../../../src/common/group-commit';

/** A write that waits until released, recording each batch it was given. */
function gatedWriter<T>() {
  const batches: T[][] = [];
  const gates: Array<() => void> = [];
  const write = async (batch: T[]): Promise<string[]> => {
    batches.push(batch);
    await new Promise<void>((release) => gates.push(release));
    return batch.map((item) => `done ${String(item)}`);
  };
  const releaseNext = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()?.();
  };
  return { batches, write, releaseNext };
}

describe('GroupCommit', () => {
  it('writes a lone item at once, and what arrives meanwhile together in the next write', async () => {
    const writer = gatedWriter<number>();
    const group = new GroupCommit<number, string>({
      name: 'test',
      nextBatch: (q) => [...q].length,
      write: writer.write,
    });
    const first = group.submit(1);
    expect(writer.batches).toEqual([[1]]);
    const rest = [group.submit(2), group.submit(3), group.submit(4)];
    await writer.releaseNext();
    await expect(first).resolves.toBe('done 1');
    await writer.releaseNext();
    await expect(Promise.all(rest)).resolves.toEqual(['done 2', 'done 3', 'done 4']);
    expect(writer.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('takes as many as nextBatch says (at least one) per write, oldest first', async () => {
    const writer = gatedWriter<number>();
    const group = new GroupCommit<number, string>({
      name: 'test',
      nextBatch: (q) => ([...q][0] === 1 ? 0 : 2),
      write: writer.write,
    });
    const all = [1, 2, 3, 4, 5].map((n) => group.submit(n));
    for (let i = 0; i < 3; i++) await writer.releaseNext();
    await expect(Promise.all(all)).resolves.toHaveLength(5);
    expect(writer.batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it("fails a whole batch with its write's error, and goes on with the next", async () => {
    let calls = 0;
    const group = new GroupCommit<string, string>({
      name: 'test',
      nextBatch: (q) => [...q].length,
      write: async (batch) => {
        calls++;
        await Promise.resolve();
        if (batch.includes('bad')) throw new Error('refused');
        return batch;
      },
    });
    const first = group.submit('ok-1');
    const failing = [group.submit('bad'), group.submit('ok-2')];
    await expect(first).resolves.toBe('ok-1');
    await expect(failing[0]).rejects.toThrow('refused');
    await expect(failing[1]).rejects.toThrow('refused');
    await expect(group.submit('ok-3')).resolves.toBe('ok-3');
    expect(calls).toBe(3);
  });

  it('fails the items a write gave no result for', async () => {
    const group = new GroupCommit<number, number>({
      name: 'audit',
      nextBatch: (q) => [...q].length,
      write: (batch) => Promise.resolve(batch.slice(0, 1)),
    });
    const first = group.submit(1);
    const [a, b] = [group.submit(2), group.submit(3)];
    await expect(first).resolves.toBe(1);
    await expect(a).resolves.toBe(2);
    await expect(b).rejects.toThrow('The audit batch wrote fewer items than it was given');
  });
});
