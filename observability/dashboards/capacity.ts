// Capacity: the GPU deployments behind the models: how loaded they are, what waits, what is refused, how they scale.
import { buildDashboard, filter } from './shared';

const deployment = filter('deployment');

export const capacity = () =>
  buildDashboard({
    name: 'capacity',
    title: 'finops-soar / Capacity',
    description:
      'GPU, CPU and VRAM utilisation, queue depth and backlog time, throttling (429s) and autoscaling (replica changes) per deployment.',
    runbook: 'playbooks.md',
    filters: [{ label: 'deployment', metric: 'gpu_utilization' }],
    panels: [
      {
        kind: 'timeseries',
        title: 'GPU utilisation',
        description:
          "Share of each deployment's GPU capacity in use: the saturation alert fires at 90% with a growing queue.",
        unit: 'percentunit',
        width: 8,
        queries: [{ expr: `avg by (deployment) (gpu_utilization{${deployment}})`, legend: '{{deployment}}' }],
      },
      {
        kind: 'timeseries',
        title: 'CPU utilisation',
        description: "Share of each deployment's host CPUs in use (tokenisation, batching, sampling).",
        unit: 'percentunit',
        width: 8,
        queries: [{ expr: `avg by (deployment) (cpu_utilization{${deployment}})`, legend: '{{deployment}}' }],
      },
      {
        kind: 'timeseries',
        title: 'VRAM utilisation',
        description: 'GPU memory in use over GPU memory: the weights, and the KV cache of the batch in flight.',
        unit: 'percentunit',
        width: 8,
        queries: [
          {
            expr: `sum by (deployment) (gpu_memory_used_bytes{${deployment}}) / sum by (deployment) (gpu_memory_total_bytes{${deployment}})`,
            legend: '{{deployment}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Queue depth',
        description: 'Requests waiting for a GPU, per deployment.',
        unit: 'short',
        queries: [{ expr: `sum by (deployment) (inference_queue_depth{${deployment}})`, legend: '{{deployment}}' }],
      },
      {
        kind: 'timeseries',
        title: 'Backlog time',
        description: "How long each deployment's queue takes to drain at its capacity: the wait a new request sees.",
        unit: 's',
        queries: [
          { expr: `max by (deployment) (inference_queue_backlog_seconds{${deployment}})`, legend: '{{deployment}}' },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Throttling rate (429s)',
        description: 'Requests per second refused with 429 (rate limit or quota), by tenant and route.',
        unit: 'reqps',
        queries: [
          {
            expr: 'sum by (tenant, route) (rate(http_requests_total{code="429"}[$__rate_interval]))',
            legend: '{{tenant}} {{route}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Throttled share of requests',
        description: 'Share of all requests refused with 429.',
        unit: 'percentunit',
        queries: [
          {
            expr: 'sum(rate(http_requests_total{code="429"}[$__rate_interval])) / sum(rate(http_requests_total[$__rate_interval]))',
            legend: 'throttled',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Replicas',
        description: "Each deployment's replicas: a step is a scale-out or a scale-in (the engine's or the HPA's).",
        unit: 'short',
        queries: [
          { expr: `sum by (deployment) (inference_deployment_replicas{${deployment}})`, legend: '{{deployment}}' },
        ],
      },
      {
        kind: 'stat',
        title: 'Autoscaling events in range',
        description: 'How many times each deployment changed its replicas in the selected time range.',
        unit: 'short',
        queries: [
          {
            expr: `sum by (deployment) (changes(inference_deployment_replicas{${deployment}}[$__range]))`,
            legend: '{{deployment}}',
            instant: true,
          },
        ],
      },
    ],
  });
