// The ingress's own Prometheus metrics, served on its GET /metrics (without credentials, like the probes):
// what became of each alert it received. An alert refused because its target's labels are missing or too
// long is answered 200 (Alertmanager would retry it in vain), so this counter, and the error log beside
// it, is how anyone learns of it: alert on `increase(finops_soar_alerts_total{outcome="rejected"}[1h]) > 0`.
// outcome="repeat-absorbed" counts the repeats the ingress answered from its cache (ingress/repeat-cache.ts).
// finops_soar_http_request_duration_seconds counts every request but the probes by endpoint (the route's template,
// so a run id never becomes a label) and status: webhook latency, and refusals by their code (400 invalid payload,
// 401 credentials, 413 too large, 415 not JSON, 429/503 shed).
import { Counter, Histogram, Registry } from 'prom-client';

export type AlertOutcome =
  | 'started-or-signalled'
  | 'resolution-signalled'
  | 'no-active-run'
  | 'repeat-absorbed'
  | 'unrouted'
  | 'rejected'
  | 'failed';

export class IngressMetrics {
  readonly registry = new Registry();
  private readonly alerts = new Counter({
    name: 'finops_soar_alerts_total',
    help: 'Alerts the webhook received, by what became of them (rejected: matched a playbook that cannot run on them; repeat-absorbed: an unchanged repeat of what Temporal accepted within ingress.repeatWindow, answered without a Temporal call) and the playbook that matched ("" when none did).',
    labelNames: ['outcome', 'playbook'],
    registers: [this.registry],
  });

  private readonly requests = new Histogram({
    name: 'finops_soar_http_request_duration_seconds',
    help: 'Requests the ingress answered (the probes aside), by endpoint (route template, or "unmatched") and HTTP status code, from arrival to the answer sent.',
    labelNames: ['endpoint', 'code'],
    // Alertmanager waits 10 s by default; Slack 3 s; a webhook answered only once Temporal accepted the work.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  observeRequest(endpoint: string, code: number, seconds: number): void {
    this.requests.observe({ endpoint, code: String(code) }, seconds);
  }

  countAlert(outcome: AlertOutcome, playbook = ''): void {
    this.alerts.inc({ outcome, playbook });
  }
}
