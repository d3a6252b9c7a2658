// A real Prometheus scraping what the tier policy measures, with numbers chosen so its answers are
// exact: spend on route chat at $1 a second, request latency histograms whose p95 is a bucket
// bound, the model info naming each model's tier, and a token counter for the quota.
import { startPrometheus, type RunningPrometheus } from './prometheus';
import { waitFor } from './wait';

/** Budgets over chat's $1/s spend: burn rate 1 spends the budget in 30 days. */
export const TIER_BUDGETS = {
  hot: { monthlyUsd: 864_000, selector: 'route="chat"' }, // burn rate 3
  warm: { monthlyUsd: 1_728_000, selector: 'route="chat"' }, // 1.5
  cool: { monthlyUsd: 5_184_000, selector: 'route="chat"' }, // 0.5
  idle: { monthlyUsd: 1_000_000, selector: 'route="search"' }, // no spend at all
};

const LE = [0.25, 0.5, 1, 2, 3, 4, 6, 8];
const MODELS = { premium: 'llama-405b', standard: 'llama-70b', distilled: 'llama-8b' } as const;

/** Requests per second of one tenant on one route, served by a model, and their p95 (a bucket bound). */
interface LatencyStream {
  tenant: string;
  route: string;
  model: string;
  requestsPerSecond: number;
  p95Seconds: number;
}

/**
 * chat: acme waits 3 s at p95 on premium, globex 2 s on standard. summarize runs on distilled at
 * 0.5 s, which says nothing about chat on distilled. core (protected) is served at 0.5 s.
 */
const STREAMS: LatencyStream[] = [
  { tenant: 'acme', route: 'chat', model: MODELS.premium, requestsPerSecond: 10, p95Seconds: 3 },
  { tenant: 'globex', route: 'chat', model: MODELS.standard, requestsPerSecond: 10, p95Seconds: 2 },
  { tenant: 'acme', route: 'summarize', model: MODELS.distilled, requestsPerSecond: 10, p95Seconds: 0.5 },
  { tenant: 'internal', route: 'core', model: MODELS.premium, requestsPerSecond: 10, p95Seconds: 0.5 },
];

/**
 * The share of requests at or under `le`: half in the bucket below the p95's, 95% up to its bound,
 * all in the next. histogram_quantile interpolates 0.95 to exactly the bound.
 */
function cumulativeShare(le: number, p95Seconds: number): number {
  const at = LE.indexOf(p95Seconds);
  const index = LE.indexOf(le);
  if (index < at - 1) return 0;
  if (index === at - 1) return 0.5;
  return index === at ? 0.95 : 1;
}

function exposition(elapsedSeconds: number, tokensPerSecond: number): string {
  const lines = [
    '# TYPE inference_cost_usd_total counter',
    `inference_cost_usd_total{route="chat",tenant="acme"} ${elapsedSeconds}`,
  ];
  lines.push('# TYPE llm_request_duration_seconds histogram');
  for (const { tenant, route, model, requestsPerSecond, p95Seconds } of STREAMS) {
    const labels = `tenant="${tenant}",route="${route}",model="${model}"`;
    const count = requestsPerSecond * elapsedSeconds;
    for (const le of LE)
      lines.push(
        `llm_request_duration_seconds_bucket{${labels},le="${le}"} ${count * cumulativeShare(le, p95Seconds)}`,
      );
    lines.push(
      `llm_request_duration_seconds_bucket{${labels},le="+Inf"} ${count}`,
      `llm_request_duration_seconds_count{${labels}} ${count}`,
    );
  }
  lines.push(
    '# TYPE llm_model_info gauge',
    ...Object.entries(MODELS).map(([tier, model]) => `llm_model_info{model="${model}",tier="${tier}"} 1`),
  );
  lines.push(
    '# TYPE llm_tokens_total counter',
    `llm_tokens_total{tenant="acme",route="chat",type="input"} ${tokensPerSecond * elapsedSeconds}`,
  );
  return `${lines.join('\n')}\n`;
}

/** The window tests measure over: short, so that the series fill it soon after they start. */
export const TIER_WINDOW = '10s';

/**
 * The series above, growing every 100 ms until close(); acme sends `tokensPerSecond` input tokens
 * on chat. Returns once Prometheus holds more than TIER_WINDOW of them: rate() divides by the whole
 * window, so a younger series would look slower than it is.
 */
export async function startTierMetricsPrometheus({ tokensPerSecond = 1_000_000 } = {}): Promise<RunningPrometheus> {
  const prometheus = await startPrometheus(exposition(0, tokensPerSecond));
  // Everything starts from zero once Prometheus scrapes: no jump between its first samples.
  const startedAt = Date.now();
  const growing = setInterval(
    () => (prometheus.metrics.text = exposition((Date.now() - startedAt) / 1000, tokensPerSecond)),
    100,
  );
  const close = () => {
    clearInterval(growing);
    return prometheus.close();
  };
  try {
    // One sample a second: 12 samples span 11 s.
    await waitFor(`${TIER_WINDOW} of metrics in Prometheus`, async () => {
      const response = await fetch(
        `${prometheus.url}/api/v1/query?query=${encodeURIComponent('count_over_time(inference_cost_usd_total[15s])')}`,
      );
      const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
      return Number(body.data.result[0]?.value[1] ?? 0) >= 12 || undefined;
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { ...prometheus, close };
}
