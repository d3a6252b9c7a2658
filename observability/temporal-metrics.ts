// The Temporal SDK's metrics (Core's worker metrics, and what workflow code records with the SDK's `metricMeter`,
// e.g. workflows/playbook-run/run-metrics.ts) served on the worker's own /metrics beside the engine's, so one scrape
// target holds both. Core buffers each update (MetricsBuffer, the SDK's buffered exporter); this drains the buffer
// into prom-client metrics of the same names: a counter gains `_total`, a duration histogram is in seconds.
import { MetricsBuffer, type BufferedMetricUpdate } from '@temporalio/worker';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

// Core's latencies run from milliseconds (polls, task execution) to the engine's own decisions (minutes).
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
// Core allocates the whole buffer up front and touches every slot (about 100 bytes each): 200,000 slots were 20 MiB
// of the worker's RSS from the start. A 5,000-run burst on 2 cores (bench row 5) brought at most 2,400 updates per
// drain (about a dozen per workflow task), so 50,000 (5 MiB) is 20 s of that between drains; a fuller buffer drops
// updates and Core logs an error saying so.
const MAX_BUFFERED_UPDATES = 50_000;
const DRAIN_EVERY_MS = 1_000;

type PromMetric = Counter | Gauge | Histogram;

/** Prometheus label names: Core's tags are snake_case already; anything else is made so. */
const labelName = (tag: string) => tag.replace(/[^a-zA-Z0-9_]/g, '_');

export class TemporalMetrics {
  readonly buffer = new MetricsBuffer({ maxBufferSize: MAX_BUFFERED_UPDATES, useSecondsForDurations: true });
  private readonly metrics = new Map<string, { metric: PromMetric; labels: string[] }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly registry: Registry) {}

  /** For Runtime.install's telemetryOptions: Core's metrics go to the buffer, named with Temporal's usual prefix. */
  get telemetry() {
    return { metrics: { buffer: this.buffer, metricPrefix: 'temporal_' } };
  }

  /** Drains the buffer every second until stop(), and before each scrape (call drain()). */
  start(): void {
    this.timer = setInterval(() => this.drain(), DRAIN_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.drain();
  }

  drain(): void {
    for (const update of this.buffer.retrieveUpdates()) this.apply(update);
  }

  private apply({ metric, value, attributes }: BufferedMetricUpdate): void {
    const tags = Object.fromEntries(
      Object.entries(attributes).map(([tag, tagValue]) => [labelName(tag), String(tagValue)]),
    );
    const { metric: target, labels } = this.metricFor(metric, Object.keys(tags));
    // A tag a later update brings that the first did not is dropped rather than failing the scrape.
    const known = Object.fromEntries(labels.map((label) => [label, tags[label] ?? '']));
    if (target instanceof Counter) target.inc(known, value);
    else if (target instanceof Histogram) target.observe(known, value);
    // An up-down counter's update is a change; a gauge's is the value.
    else if (metric.kind === 'up-down-counter') target.inc(known, value);
    else target.set(known, value);
  }

  private metricFor(metric: BufferedMetricUpdate['metric'], labels: string[]) {
    const name = this.promName(metric);
    const existing = this.metrics.get(name);
    if (existing) return existing;
    const common = { name, help: metric.description || name, labelNames: labels, registers: [this.registry] };
    const created =
      metric.kind === 'counter'
        ? new Counter(common)
        : metric.kind === 'histogram'
          ? new Histogram({ ...common, buckets: SECONDS_BUCKETS })
          : new Gauge(common);
    const entry = { metric: created, labels };
    this.metrics.set(name, entry);
    return entry;
  }

  private promName({ name, kind, unit }: BufferedMetricUpdate['metric']): string {
    const safe = name.replace(/[^a-zA-Z0-9_:]/g, '_');
    if (kind === 'counter') return safe.endsWith('_total') ? safe : `${safe}_total`;
    const duration = unit === 's' || unit === 'ms' || unit === 'duration';
    if (kind === 'histogram' && duration && !safe.endsWith('_seconds')) return `${safe}_seconds`;
    return safe;
  }
}
