// Traffic through a LiteLLM proxy, seen as LiteLLM's own Prometheus metrics: each tenant (team) sends a steady stream
// of requests for a route, which LiteLLM serves from the model group the team's alias names (the engine's tier
// change) or else from the route's own group. The counters grow every tick and are served at the proxy's /metrics,
// so a real Prometheus loading deploy/prometheus/litellm/litellm.rules.yml gives the engine the series it reads.
// Names and labels follow LiteLLM's litellm/types/integrations/prometheus.py (PrometheusMetricLabels) and
// litellm/integrations/prometheus.py; prometheus_client exposes a Counter `x` as `x_total`.
import type { LiteLlmProxyServer } from './litellm-proxy-server';

/** What one request served by a model group costs and takes. */
export interface GroupServing {
  /** The deployment (model_info.id) that serves the group. */
  modelId: string;
  usdPerRequest: number;
  /** Each request's latency, in seconds: it falls in the histogram bucket above it. */
  seconds: number;
  inputTokens: number;
}

export interface TrafficStream {
  team: string;
  route: string;
  requestsPerTick: number;
}

// A few of LiteLLM's LATENCY_BUCKETS (types/integrations/prometheus.py), enough to place the requests' latencies.
const BUCKETS = ['0.5', '1.0', '2.0', '4.0', '6.0', '10.0', '30.0', '+Inf'];

export class LiteLlmTraffic {
  private readonly counters = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly proxy: LiteLlmProxyServer,
    private readonly groups: Record<string, GroupServing>,
    private readonly streams: TrafficStream[],
  ) {
    proxy.metrics = () => this.exposition();
  }

  /** Sends every stream's requests once now and then every `tickMs`. */
  start(tickMs = 250): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The model group LiteLLM serves the team's requests for `route` from (litellm_pre_call_utils.py, the alias). */
  groupServing(team: string, route: string): string {
    return this.proxy.aliases.get(team)?.[route] ?? route;
  }

  private add(series: string, by: number) {
    this.counters.set(series, (this.counters.get(series) ?? 0) + by);
  }

  private tick(): void {
    for (const { team, route, requestsPerTick: requests } of this.streams) {
      const group = this.groupServing(team, route);
      const serving = this.groups[group];
      if (!serving) throw new Error(`no deployment serves model group ${group} in this traffic`);
      const { modelId, usdPerRequest, seconds, inputTokens } = serving;
      const who = `team="${team}",team_alias="${team}",hashed_api_key="${team}-key"`;
      this.add(`litellm_spend_metric_total{${who},model="${group}",model_id="${modelId}"}`, requests * usdPerRequest);
      this.add(`litellm_deployment_total_requests_total{model_id="${modelId}",requested_model="${group}"}`, requests);
      this.add(
        `litellm_proxy_total_requests_metric_total{${who},requested_model="${group}",status_code="200"}`,
        requests,
      );
      this.add(
        `litellm_input_tokens_metric_total{${who},requested_model="${group}",model="${group}"}`,
        requests * inputTokens,
      );
      for (const le of BUCKETS) {
        const inBucket = le === '+Inf' || seconds <= Number(le);
        this.add(
          `litellm_request_total_latency_metric_bucket{${who},requested_model="${group}",model="${group}",le="${le}"}`,
          inBucket ? requests : 0,
        );
      }
    }
  }

  private exposition(): string {
    const byName = new Map<string, string[]>();
    for (const [series, value] of this.counters) {
      const name = series.slice(0, series.indexOf('{'));
      byName.set(name, [...(byName.get(name) ?? []), `${series} ${value}`]);
    }
    // prometheus_client's TYPE line names the family: a counter without _total, a histogram without _bucket.
    const family = (name: string) =>
      name.endsWith('_bucket')
        ? `${name.slice(0, -'_bucket'.length)} histogram`
        : `${name.replace(/_total$/, '')} counter`;
    return [...byName].map(([name, lines]) => `# TYPE ${family(name)}\n${lines.join('\n')}\n`).join('');
  }
}
