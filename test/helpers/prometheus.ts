// A real Prometheus (Debian's 2.42) scraping a local exporter every second, for checks and
// queries against live data. `metrics` is what the exporter serves; tests change it as they go.
// It can scrape other servers' /metrics too (a simulated platform, say), as job `scraped`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { supervise } from './output';
import { freePort } from './ports';
import { waitFor } from './wait';

export interface RunningPrometheus {
  url: string;
  /** The exposition text the scraped exporter serves. */
  metrics: { text: string };
  close(): Promise<void>;
}

export interface PrometheusOptions {
  /** More targets to scrape every second (`host:port`, path /metrics), e.g. ['127.0.0.1:8080']. */
  scrape?: string[];
  /** Rule files to evaluate every second (absolute paths), e.g. deploy/prometheus/litellm/litellm.rules.yml. */
  ruleFiles?: string[];
}

export async function startPrometheus(
  initialMetrics: string,
  { scrape = [], ruleFiles = [] }: PrometheusOptions = {},
): Promise<RunningPrometheus> {
  if (spawnSync('prometheus', ['--version']).error)
    throw new Error('prometheus is not installed: apt-get install prometheus (bash .ci/run does it)');
  const metrics = { text: initialMetrics };
  const exporter: Server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(metrics.text);
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  const exporterAddress = `127.0.0.1:${(exporter.address() as AddressInfo).port}`;

  const job = (name: string, targets: string[]) =>
    `  - job_name: ${name}\n    static_configs:\n      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]\n`;
  const workDir = mkdtempSync(join(tmpdir(), 'finops-soar-prom-'));
  writeFileSync(
    join(workDir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${ruleFiles.length > 0 ? `rule_files: [${ruleFiles.map((file) => `'${file}'`).join(', ')}]\n` : ''}scrape_configs:\n${job('exporter', [exporterAddress])}${scrape.length > 0 ? job('scraped', scrape) : ''}`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const prometheus: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(workDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const child = supervise('prometheus', prometheus);
  const close = async () => {
    // Gone before its data directory is: a Prometheus still shutting down would write into it, and
    // keep the test's process from exiting.
    await child.stop();
    await new Promise<void>((resolve) => exporter.close(() => resolve()));
    rmSync(workDir, { recursive: true, force: true });
  };
  const targets = 1 + scrape.length;
  try {
    await waitFor(`Prometheus to scrape ${[exporterAddress, ...scrape].join(', ')}`, async () => {
      const response = await fetch(`${url}/api/v1/query?query=up`).catch(() => undefined);
      const body = response?.ok
        ? ((await response.json()) as { data: { result: Array<{ value: [number, string] }> } })
        : undefined;
      const up = body?.data.result.filter(({ value }) => value[1] === '1').length;
      return up === targets || undefined;
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { url, metrics, close };
}

/** A series of `inference_cost_usd_total` (labels as PromQL matchers) that grows by `usdPerTick` every 250 ms. */
export interface GrowingSpend {
  labels: string;
  fromUsd?: number;
  usdPerTick: number;
}

/** A real Prometheus scraping spend counters that keep growing until close(). */
export async function startPrometheusWithSpend(series: GrowingSpend[]): Promise<RunningPrometheus> {
  const totals = series.map(({ fromUsd = 0 }) => fromUsd);
  const exposition = () =>
    `# TYPE inference_cost_usd_total counter\n${series.map(({ labels }, index) => `inference_cost_usd_total{${labels}} ${totals[index]}\n`).join('')}`;
  const prometheus = await startPrometheus(exposition());
  const growing = setInterval(() => {
    series.forEach(({ usdPerTick }, index) => (totals[index]! += usdPerTick));
    prometheus.metrics.text = exposition();
  }, 250);
  return {
    ...prometheus,
    close: () => {
      clearInterval(growing);
      return prometheus.close();
    },
  };
}

export interface BackfilledPrometheus {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real Prometheus over known history: `openMetrics` (OpenMetrics text, ending `# EOF`) turned into TSDB blocks by
 * `promtool tsdb create-blocks-from openmetrics`, then served, with no scrape of its own. Ready once `ready` (a
 * query evaluated at `at`, in seconds) answers `series` series.
 */
export async function startBackfilledPrometheus(
  openMetrics: string,
  ready: { query: string; at: number; series: number },
): Promise<BackfilledPrometheus> {
  const workDir = mkdtempSync(join(tmpdir(), 'finops-soar-backfilled-'));
  writeFileSync(join(workDir, 'series.om'), openMetrics);
  const backfill = spawnSync(
    'promtool',
    ['tsdb', 'create-blocks-from', 'openmetrics', join(workDir, 'series.om'), join(workDir, 'data')],
    { encoding: 'utf8' },
  );
  if (backfill.status !== 0) throw new Error(`promtool: ${backfill.stderr}${backfill.stdout}`);
  writeFileSync(join(workDir, 'prometheus.yml'), 'global:\n  scrape_interval: 1m\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const prometheus = supervise(
    'prometheus',
    spawn(
      'prometheus',
      [
        `--config.file=${join(workDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(workDir, 'data')}`,
        // The backfilled history is older than the default 15 days' retention.
        '--storage.tsdb.retention.time=100y',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  const stop = async () => {
    await prometheus.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    await waitFor('Prometheus to serve the backfilled series', async () => {
      const query = `${url}/api/v1/query?query=${encodeURIComponent(ready.query)}&time=${ready.at}`;
      const response = await fetch(query).catch(() => undefined);
      const body = response?.ok ? ((await response.json()) as { data: { result: unknown[] } }) : undefined;
      return body?.data.result.length === ready.series || undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
