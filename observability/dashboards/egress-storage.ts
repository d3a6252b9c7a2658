// Egress and storage: what the platform keeps and sends out, by data domain, and what that costs.
import { buildDashboard } from './shared';

const domain = 'data_domain=~"$data_domain"';

export const egressStorage = () =>
  buildDashboard({
    name: 'egress-storage',
    title: 'finops-soar / Egress and storage',
    description: 'Egress and writes per day, GB-months stored, hot against cold, and the cost drivers by data domain.',
    runbook: 'playbooks.md',
    filters: [{ label: 'data_domain', metric: 'network_egress_bytes_total' }],
    panels: [
      {
        kind: 'timeseries',
        title: 'Egress per day',
        description: 'Bytes leaving the platform per UTC day, by data domain (answers to clients, shipped logs).',
        unit: 'decbytes',
        style: 'bars',
        interval: '1d',
        queries: [
          {
            expr: `sum by (data_domain) (increase(network_egress_bytes_total{${domain}}[1d]))`,
            legend: '{{data_domain}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Written to storage per day',
        description: 'Bytes written to object storage per UTC day, by data domain.',
        unit: 'decbytes',
        style: 'bars',
        interval: '1d',
        queries: [
          {
            expr: `sum by (data_domain) (increase(storage_written_bytes_total{${domain}}[1d]))`,
            legend: '{{data_domain}}',
          },
        ],
      },
      {
        kind: 'stat',
        title: 'GB-months, last 30 days',
        description: 'The average GB held over the last 30 days by data domain: the GB-months a monthly bill charges.',
        unit: 'short',
        queries: [
          {
            expr: `sum by (data_domain) (avg_over_time(storage_bytes{${domain}}[30d])) / 1e9`,
            legend: '{{data_domain}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Hot against cold',
        description:
          'Bytes held per storage class: STANDARD is hot; data moves to the cold class at its lifecycle transition (the storage playbook shortens it).',
        unit: 'decbytes',
        style: 'stacked',
        queries: [{ expr: `sum by (storage_class) (storage_bytes{${domain}})`, legend: '{{storage_class}}' }],
      },
      {
        kind: 'timeseries',
        title: 'Cost drivers by data domain',
        description: 'Dollars per day by data domain: storage (GB-month prices per class) and egress ($ per GB out).',
        unit: 'currencyUSD',
        style: 'stacked',
        queries: [
          {
            expr: `sum by (data_domain) (rate(storage_cost_usd_total{${domain}}[$__rate_interval])) * 86400`,
            legend: '{{data_domain}} storage',
          },
          {
            expr: `sum by (data_domain) (rate(network_egress_cost_usd_total{${domain}}[$__rate_interval])) * 86400`,
            legend: '{{data_domain}} egress',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Storage by bucket and class',
        description: 'Bytes held per bucket and storage class.',
        unit: 'decbytes',
        queries: [
          {
            expr: `sum by (bucket, storage_class) (storage_bytes{${domain}})`,
            legend: '{{bucket}} {{storage_class}}',
          },
        ],
      },
    ],
  });
