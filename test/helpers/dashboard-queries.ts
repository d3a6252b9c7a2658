// The Grafana dashboards' queries (observability/dashboards/), as two tests read them: test/integration/dashboards.test.ts
// checks every one against the simulated platform, the ingress and the engine registry; the queries on metrics only a
// real worker process serves are checked for data by test/integration/engine-metrics.test.ts, against one.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARDS } from '../../observability/dashboards/index';

/** Metrics only a real worker process serves (the runs' metricMeter, run states, the Temporal SDK's). */
export const WORKER_PROCESS_METRICS = [
  'finops_soar_runs_started_total',
  'finops_soar_runs_ended_total',
  'finops_soar_runs',
  'finops_soar_capas',
  'finops_soar_changes_total',
  'finops_soar_approval_decision_seconds_bucket',
  'temporal_workflow_task_execution_failed_total',
  'temporal_activity_execution_failed_total',
];

/** Grafana's built-in and the dashboards' variables, as a user would pick them. */
const VARIABLES: Record<string, string> = {
  __rate_interval: '1m',
  __range: '1h',
  tenant: 'acme',
  route: 'chat',
  deployment: 'llm-premium-us-east-1',
  data_domain: 'request-logs',
};

export const substitute = (expr: string) =>
  expr.replace(/\$(\w+)/g, (whole, name: string) => {
    const value = VARIABLES[name];
    if (value === undefined) throw new Error(`no test value for the variable ${whole} in ${expr}`);
    return value;
  });

const metricNames = (expr: string) => [...expr.matchAll(/\b([a-z_:][a-z0-9_:]*)\s*\{/g)].map((match) => match[1]!);
export const readsWorkerProcess = (expr: string) =>
  WORKER_PROCESS_METRICS.some((name) => new RegExp(`\\b${name}\\b(?!_)`).test(expr)) ||
  metricNames(expr).some((name) => WORKER_PROCESS_METRICS.includes(name));

export interface Target {
  dashboard: string;
  panel: string;
  expr: string;
}

export const targets = (name: string, dashboard: Dashboard): Target[] =>
  (dashboard.panels ?? []).flatMap((panel) =>
    ('targets' in panel ? (panel.targets ?? []) : []).map((target) => ({
      dashboard: name,
      panel: panel.title ?? '',
      expr: (target as unknown as { expr: string }).expr,
    })),
  );

export const ALL_TARGETS = Object.entries(DASHBOARDS).flatMap(([name, build]) => targets(name, build()));
