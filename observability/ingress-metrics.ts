// The ingress's own Prometheus metrics, served on its GET /metrics (without credentials, like the probes):
// what became of each alert it received. An alert refused because its target's labels are missing or too
// long is answered 200 (Alertmanager would retry it in vain), so this counter, and the error log beside
// it, is how anyone learns of it: alert on `increase(finops_soar_alerts_total{outcome="rejected"}[1h]) > 0`.
// outcome="repeat-absorbed" counts the repeats the ingress answered from its cache (ingress/repeat-cache.ts).
import { Counter, Registry } from 'prom-client';

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

  countAlert(outcome: AlertOutcome, playbook = ''): void {
    this.alerts.inc({ outcome, playbook });
  }
}
