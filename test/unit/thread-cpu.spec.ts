import { isMainThread, Worker } from 'node:worker_threads';
import { ownThreadId, threadCpuSeconds } from '../../src/metrics/thread-cpu';

/** Busy-loops for `ms` of wall time on this thread. */
function spin(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

describe('thread CPU time (Linux /proc)', () => {
  it("names this thread (the process's main thread) and reads a CPU time that grows with work", () => {
    expect(isMainThread).toBe(true);
    expect(ownThreadId()).toBe(process.pid);
    const before = threadCpuSeconds(process.pid) as number;
    expect(before).toBeGreaterThan(0);
    spin(200);
    expect(threadCpuSeconds(process.pid)).toBeGreaterThan(before);
  });

  it('names a worker thread apart from the main thread, and gives nothing for a thread that does not exist', async () => {
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.postMessage(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()));`,
      { eval: true },
    );
    const tid = await new Promise<number>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect(tid).not.toBe(process.pid);
    // The worker has ended: its thread's entry is gone.
    expect(threadCpuSeconds(tid)).toBeUndefined();
    expect(threadCpuSeconds(2 ** 30)).toBeUndefined();
  });
});
