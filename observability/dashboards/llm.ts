// LLM: what the models are asked and answer: tokens, cost per route, prompt sizes, the cache, the prompt filter.
import { buildDashboard, filter } from './shared';

const selected = filter('tenant', 'route');

export const llm = () =>
  buildDashboard({
    name: 'llm',
    title: 'finops-soar / LLM',
    description:
      'Tokens in and out, cost per route, context length against the baseline, the response cache, prompt-filter hits and latency.',
    runbook: 'alert-rules.md',
    filters: [
      { label: 'tenant', metric: 'llm_tokens_total' },
      { label: 'route', metric: 'llm_tokens_total' },
    ],
    panels: [
      {
        kind: 'timeseries',
        title: 'Tokens in and out',
        description:
          'Input (prompt) and output (completion) tokens per second of served requests, cache hits included.',
        unit: 'short',
        queries: [
          { expr: `sum by (type) (rate(llm_tokens_total{${selected}}[$__rate_interval]))`, legend: '{{type}}' },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Tokens by route',
        description: 'Tokens per second by route and type.',
        unit: 'short',
        style: 'stacked',
        queries: [
          {
            expr: `sum by (route, type) (rate(llm_tokens_total{${selected}}[$__rate_interval]))`,
            legend: '{{route}} {{type}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Cost per route',
        description: 'Inference spend per hour by route.',
        unit: 'currencyUSD',
        style: 'stacked',
        queries: [
          {
            expr: `sum by (route) (rate(inference_cost_usd_total{${selected}}[$__rate_interval])) * 3600`,
            legend: '{{route}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Context length: input tokens per request',
        description:
          "Input tokens per served request by route, against the route's baseline (llm_tokens_baseline): the prompts-ballooning alert fires above 1.5x it.",
        unit: 'short',
        queries: [
          {
            expr: `sum by (route) (rate(llm_tokens_total{type="input", ${selected}}[$__rate_interval])) / sum by (route) (rate(http_requests_total{code="200", ${selected}}[$__rate_interval]))`,
            legend: '{{route}}',
          },
          { expr: 'max by (route) (llm_tokens_baseline{route=~"$route"})', legend: '{{route}} baseline' },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Cache hit ratio',
        description: 'Share of requests the response cache answered, by tenant and route: every miss is paid for.',
        unit: 'percentunit',
        queries: [
          { expr: `avg by (tenant, route) (llm_cache_hit_ratio{${selected}})`, legend: '{{tenant}} {{route}}' },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Prompt-filter hits',
        description:
          "Served requests per minute whose prompt the gateway's prompt filter flagged (injection attempts, secrets, personal data).",
        unit: 'short',
        queries: [
          {
            expr: `sum by (tenant, route) (rate(llm_prompt_filter_hits_total{${selected}}[$__rate_interval])) * 60`,
            legend: '{{tenant}} {{route}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Latency p95 by route',
        description: 'The 95th percentile of the time to the last token, by route (cache hits, queueing and decoding).',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (route, le) (rate(llm_request_duration_seconds_bucket{${selected}}[$__rate_interval])))`,
            legend: '{{route}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Requests by status',
        description: 'Requests per second by status: 200 served, 429 throttled or over quota, 503 breaker open.',
        unit: 'reqps',
        style: 'stacked',
        queries: [
          { expr: `sum by (code) (rate(http_requests_total{${selected}}[$__rate_interval]))`, legend: '{{code}}' },
        ],
      },
    ],
  });
