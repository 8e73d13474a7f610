import type { MetricsRepository } from '../../src/metrics/metrics.repository';
import { MetricsService } from '../../src/metrics/metrics.service';

describe('bridge_thread_cpu_seconds_total', () => {
  const series = async (metrics: MetricsService) =>
    (await metrics.registry.getSingleMetricAsString('bridge_thread_cpu_seconds_total'))
      .split('\n')
      .filter((l) => !l.startsWith('#'));

  it('reports the event loop, and a tracked group from 0 on, never going backwards', async () => {
    const metrics = new MetricsService({} as MetricsRepository);
    let engine: number | undefined = 0;
    metrics.trackThreadCpu('saml_engine', () => engine);
    const first = await series(metrics);
    expect(first).toContain('bridge_thread_cpu_seconds_total{thread="saml_engine"} 0');
    expect(first.some((l) => /^bridge_thread_cpu_seconds_total\{thread="event_loop"\} \d/.test(l))).toBe(
      true,
    );
    engine = 2.5;
    expect(await series(metrics)).toContain('bridge_thread_cpu_seconds_total{thread="saml_engine"} 2.5');
    // A lower reading (not expected) leaves the counter where it was; an unknown one too.
    engine = 1;
    expect(await series(metrics)).toContain('bridge_thread_cpu_seconds_total{thread="saml_engine"} 2.5');
    engine = undefined;
    expect(await series(metrics)).toContain('bridge_thread_cpu_seconds_total{thread="saml_engine"} 2.5');
    engine = 4;
    expect(await series(metrics)).toContain('bridge_thread_cpu_seconds_total{thread="saml_engine"} 4');
  });
});
