// The benchmark's predict_linear (bench/forecast-methods.ts) is Prometheus's: a month of cumulative
// spend, backfilled into a real Prometheus with promtool, answers predict_linear at day boundaries
// with the numbers the TypeScript computes. So the forecast comparison in bench/README.md is honest.
// The same Prometheus answers the budget activities' one query for the spend of each whole day.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cumulativeSamples, dailyUsd, predictLinear, stepSeries } from '../../bench/forecast-methods';
import { dailySpend } from '../../finops/finops-activities';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { supervise, type SupervisedChild } from '../helpers/output';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

const DAY_MS = 86_400_000;
const series = stepSeries();
const monthEndMs = series.monthStartMs + series.daysInMonth * DAY_MS;
const samples = cumulativeSamples(series, monthEndMs);

let workDir: string;
let url: string;
let prometheus: SupervisedChild | undefined;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'finops-soar-forecast-'));
  const openMetrics = join(workDir, 'spend.om');
  writeFileSync(
    openMetrics,
    `# TYPE budget_spend_usd gauge\n${samples.map(({ t, v }) => `budget_spend_usd ${v} ${t / 1000}\n`).join('')}# EOF\n`,
  );
  const backfill = spawnSync(
    'promtool',
    ['tsdb', 'create-blocks-from', 'openmetrics', openMetrics, join(workDir, 'data')],
    {
      encoding: 'utf8',
    },
  );
  if (backfill.status !== 0) throw new Error(`promtool: ${backfill.stderr}${backfill.stdout}`);
  writeFileSync(join(workDir, 'prometheus.yml'), 'global:\n  scrape_interval: 1m\n');
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(workDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      // The backfilled month is older than the default 15 days' retention.
      '--storage.tsdb.retention.time=100y',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus = supervise('prometheus', child);
  await waitFor('Prometheus to serve the backfilled series', async () => {
    const at = (series.monthStartMs + 2 * DAY_MS) / 1000;
    const response = await fetch(`${url}/api/v1/query?query=budget_spend_usd&time=${at}`).catch(() => undefined);
    const body = response?.ok ? ((await response.json()) as { data: { result: unknown[] } }) : undefined;
    return (body?.data.result.length ?? 0) > 0 || undefined;
  });
});

afterAll(async () => {
  await prometheus?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

async function query(expression: string, atMs: number): Promise<number> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expression)}&time=${atMs / 1000}`);
  const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
  expect(body.data.result).toHaveLength(1);
  return Number(body.data.result[0]!.value[1]);
}

test.each([2, 5, 10, 12, 15, 20, 25, 30])(
  'predict_linear over the month so far, made at the start of day %i, is Prometheus’s',
  async (day) => {
    const evalMs = series.monthStartMs + (day - 1) * DAY_MS;
    const horizonSeconds = (monthEndMs - evalMs) / 1000;
    const expression = `predict_linear(budget_spend_usd[${(evalMs - series.monthStartMs) / 1000}s], ${horizonSeconds})`;
    const ours = predictLinear(
      samples.filter(({ t }) => t > series.monthStartMs && t <= evalMs),
      evalMs,
      horizonSeconds,
    );
    const theirs = await query(expression, evalMs);
    expect(Math.abs(ours - theirs) / Math.abs(theirs)).toBeLessThan(1e-9);
  },
);

test('the spend of each whole UTC day, in one query: the days with data, oldest first', async () => {
  const day15 = new Date(series.monthStartMs + 14 * DAY_MS);
  const client = new PrometheusClient({ baseUrl: url, timeoutMs: 10_000 });
  const days = await dailySpend(client, 'budget_spend_usd', day15, 20);
  // Nothing before the month: those days are left out.
  expect(days).toHaveLength(14);
  const actual = dailyUsd(series).slice(series.beforeDays, series.beforeDays + 14);
  // increase() extrapolates the day's 23 hours between its first and last samples to 24.
  days.forEach((usd, d) => expect(Math.abs(usd - actual[d]!) / actual[d]!).toBeLessThan(0.1));
});
