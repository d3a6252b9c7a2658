// The engine: what finops-soar itself does: alerts in, runs and their states, changes, approvals, limits,
// savings, and the worker's Temporal errors.
import { buildDashboard } from './shared';

export const engine = () =>
  buildDashboard({
    name: 'engine',
    title: 'finops-soar / Engine',
    description:
      'Alerts in, webhook latency, runs started, ended and by state, changes applied, undone and refused, approvals, runs waiting for a limit, savings and worker errors.',
    runbook: 'operations.md',
    filters: [],
    panels: [
      {
        kind: 'timeseries',
        title: 'Alerts in',
        description:
          'Alerts the webhook received per second, by what became of them (rejected and failed need a look; see docs/operations.md).',
        unit: 'short',
        queries: [
          { expr: 'sum by (outcome) (rate(finops_soar_alerts_total[$__rate_interval]))', legend: '{{outcome}}' },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Webhook latency',
        description:
          "The webhook's answer time (finops_soar_http_request_duration_seconds on /alerts/alertmanager): Alertmanager waits on it, and retries what takes too long.",
        unit: 's',
        queries: [
          {
            expr: 'histogram_quantile(0.5, sum by (le) (rate(finops_soar_http_request_duration_seconds_bucket{endpoint="/alerts/alertmanager"}[$__rate_interval])))',
            legend: 'p50',
          },
          {
            expr: 'histogram_quantile(0.95, sum by (le) (rate(finops_soar_http_request_duration_seconds_bucket{endpoint="/alerts/alertmanager"}[$__rate_interval])))',
            legend: 'p95',
          },
          {
            expr: 'histogram_quantile(0.99, sum by (le) (rate(finops_soar_http_request_duration_seconds_bucket{endpoint="/alerts/alertmanager"}[$__rate_interval])))',
            legend: 'p99',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Runs started and ended',
        description: 'Runs started per playbook, and ended per outcome, per minute.',
        unit: 'short',
        queries: [
          {
            expr: 'sum by (playbook) (rate(finops_soar_runs_started_total[$__rate_interval])) * 60',
            legend: 'started {{playbook}}',
          },
          {
            expr: 'sum by (outcome) (rate(finops_soar_runs_ended_total[$__rate_interval])) * 60',
            legend: 'ended {{outcome}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Runs by state',
        description: 'Live runs by state: mitigating, awaiting approval, waiting for a limit, rolling back.',
        unit: 'short',
        style: 'stacked',
        queries: [{ expr: 'sum by (state) (finops_soar_runs)', legend: '{{state}}' }],
      },
      {
        kind: 'timeseries',
        title: 'Changes applied, undone and refused',
        description: 'Changes to the platform per minute, by action and result.',
        unit: 'short',
        queries: [
          {
            expr: 'sum by (action, result) (rate(finops_soar_changes_total[$__rate_interval])) * 60',
            legend: '{{action}} {{result}}',
          },
        ],
      },
      {
        kind: 'table',
        title: 'Changes refused by reason, in range',
        description: 'Refused changes in the selected time range, by playbook and reason (guardrail, policy, limits).',
        unit: 'short',
        queries: [
          {
            expr: 'sum by (playbook, reason) (increase(finops_soar_changes_total{reason!=""}[$__range]))',
            legend: '{{playbook}} {{reason}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'stat',
        title: 'Approvals waiting',
        description: 'Runs waiting for a human decision in Slack or the runs API.',
        unit: 'short',
        width: 6,
        queries: [
          { expr: 'sum(finops_soar_runs{state="awaiting-approval"})', legend: 'awaiting approval', instant: true },
        ],
      },
      {
        kind: 'stat',
        title: 'Runs waiting for a limit',
        description: 'Runs admitted but waiting for a concurrency or rate limit to free a slot.',
        unit: 'short',
        width: 6,
        queries: [{ expr: 'sum(finops_soar_runs{state="waiting"})', legend: 'waiting', instant: true }],
      },
      {
        kind: 'timeseries',
        title: 'Approval decision latency',
        description: 'From the approval request to the decision (approve, reject or timeout).',
        unit: 's',
        queries: [
          {
            expr: 'histogram_quantile(0.5, sum by (le) (rate(finops_soar_approval_decision_seconds_bucket[$__rate_interval])))',
            legend: 'p50',
          },
          {
            expr: 'histogram_quantile(0.95, sum by (le) (rate(finops_soar_approval_decision_seconds_bucket[$__rate_interval])))',
            legend: 'p95',
          },
        ],
      },
      {
        kind: 'stat',
        title: 'Saved, last 30 days',
        description: 'Dollars runs saved by the time they rolled back, per playbook.',
        unit: 'currencyUSD',
        queries: [
          {
            expr: 'sum by (playbook) (increase(finops_soar_saved_usd_total[30d]))',
            legend: '{{playbook}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'stat',
        title: 'Cost added, last 30 days',
        description: 'Dollars runs added (scale-outs) by the time they rolled back, per playbook.',
        unit: 'currencyUSD',
        queries: [
          {
            expr: 'sum by (playbook) (increase(finops_soar_added_cost_usd_total[30d]))',
            legend: '{{playbook}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Worker errors',
        description:
          "Failed workflow tasks and activity executions per minute, from the worker's Temporal SDK metrics: a workflow task failing again and again is a stuck run.",
        unit: 'short',
        width: 24,
        queries: [
          {
            expr: 'sum by (workflow_type) (rate(temporal_workflow_task_execution_failed_total[$__rate_interval])) * 60',
            legend: 'workflow task {{workflow_type}}',
          },
          {
            expr: 'sum by (activity_type) (rate(temporal_activity_execution_failed_total[$__rate_interval])) * 60',
            legend: 'activity {{activity_type}}',
          },
        ],
      },
    ],
  });
