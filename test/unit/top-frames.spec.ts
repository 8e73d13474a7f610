import { CpuProfile, summarizeProfile, topShares } from '../../bench/top-frames';

/** A profile of root → pg's query → our service, plus V8's idle and GC nodes; one sample per 1 ms. */
function profile(samples: number[], startTime = 1_000_000): CpuProfile {
  const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 4, 5] },
      { id: 2, callFrame: frame('query', 'file:///app/node_modules/pg/lib/client.js', 9), children: [3] },
      { id: 3, callFrame: frame('validate', 'file:///app/dist/src/saml/saml.service.js', 285) },
      { id: 4, callFrame: frame('(idle)') },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    startTime,
    endTime: startTime + samples.length * 1000,
    samples,
    timeDeltas: samples.map(() => 1000),
  };
}

describe('the CPU profile summary (bench/top-frames)', () => {
  it('gives shares of the busy time by function, by package and inclusively, with idle time apart', () => {
    // 6 samples in our code (under pg), 2 in pg itself, 2 in GC, 10 idle; the last sample has no duration.
    const samples = [3, 3, 3, 3, 3, 3, 2, 2, 5, 5, ...Array<number>(10).fill(4), 4];
    const summary = summarizeProfile(profile(samples));
    expect(summary.busyMs).toBe(10);
    expect(summary.idleMs).toBe(10);
    expect(summary.functions).toEqual([
      { name: 'validate dist/src/saml/saml.service.js:286', share: 0.6 },
      { name: 'query pg/lib/client.js:10', share: 0.2 },
      { name: '(garbage collector) :1', share: 0.2 },
    ]);
    expect(summary.packages.map((p) => [p.name, p.share])).toEqual([
      ['bridge (dist/)', 0.6],
      ['pg', 0.2],
      ['(garbage collector)', 0.2],
    ]);
    // pg's frames are under 8 of the 10 busy samples (its own 2 and our 6 it called).
    expect(summary.packagesInclusive.map((p) => p.name)).not.toContain('(root)');
    expect(summary.packagesInclusive.find((p) => p.name === 'pg')?.share).toBeCloseTo(0.8);
    expect(topShares(summary.packages, 2)).toBe('bridge (dist/) 60.0 %, pg 20.0 %');
  });

  it('counts only the samples inside the window (µs on the monotonic clock)', () => {
    const samples = [3, 3, 3, 2, 2, 2, 2, 2];
    const summary = summarizeProfile(profile(samples, 0), { fromUs: 4000, toUs: 6000 });
    // Samples at 4, 5 and 6 ms: all in pg's own frame.
    expect(summary.busyMs).toBe(3);
    expect(summary.packages).toEqual([{ name: 'pg', share: 1 }]);
  });
});
