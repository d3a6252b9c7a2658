// The benchmark's predict_linear (bench/forecast-methods.ts) is Prometheus's: a month of cumulative
// spend, backfilled into a real Prometheus with promtool, answers predict_linear at day boundaries
// with the numbers the TypeScript computes. So the forecast comparison in bench/README.md is honest.
// The same Prometheus answers the budget activities' one query for the spend of each whole day.
import { cumulativeSamples, dailyUsd, predictLinear, stepSeries } from '../../bench/forecast-methods';
import { dailySpend } from '../../finops/finops-activities';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { startBackfilledPrometheus, type BackfilledPrometheus } from '../helpers/prometheus';

const DAY_MS = 86_400_000;
const series = stepSeries();
const monthEndMs = series.monthStartMs + series.daysInMonth * DAY_MS;
const samples = cumulativeSamples(series, monthEndMs);

let prometheus: BackfilledPrometheus | undefined;
let url: string;

beforeAll(async () => {
  prometheus = await startBackfilledPrometheus(
    `# TYPE budget_spend_usd gauge\n${samples.map(({ t, v }) => `budget_spend_usd ${v} ${t / 1000}\n`).join('')}# EOF\n`,
    { query: 'budget_spend_usd', at: (series.monthStartMs + 2 * DAY_MS) / 1000, series: 1 },
  );
  url = prometheus.url;
});

afterAll(async () => {
  await prometheus?.stop();
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
