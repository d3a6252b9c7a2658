// Executive: what inference costs, where it goes, and how the month will end against the budget.
import { buildDashboard, filter } from './shared';

const tenant = filter('tenant');

export const executive = () =>
  buildDashboard({
    name: 'executive',
    title: 'finops-soar / Executive',
    description:
      'Inference spend per day, the month-end forecast against the budget, who and what spends, unit costs and the budget burn rate.',
    runbook: 'finops-and-policies.md',
    filters: [{ label: 'tenant', metric: 'inference_cost_usd_total' }],
    panels: [
      {
        kind: 'stat',
        title: 'Spend, last 24 hours',
        description: 'Inference spend of the selected tenants over the last 24 hours.',
        unit: 'currencyUSD',
        width: 6,
        height: 5,
        queries: [{ expr: `sum(increase(inference_cost_usd_total{${tenant}}[1d]))`, legend: 'spend', instant: true }],
      },
      {
        kind: 'stat',
        title: 'Month-end forecast',
        description:
          "The engine's month-end spend forecast per budget (finops_soar_budget_forecast_usd, seasonal naive with a trend) and the high side of its interval, which the budget announcements and the scale-out decision read.",
        unit: 'currencyUSD',
        width: 6,
        height: 5,
        queries: [
          { expr: 'max by (budget) (finops_soar_budget_forecast_usd)', legend: '{{budget}}', instant: true },
          { expr: 'max by (budget) (finops_soar_budget_forecast_high_usd)', legend: '{{budget}} up to', instant: true },
        ],
      },
      {
        kind: 'stat',
        title: 'Forecast against budget',
        description:
          'The high side of the month-end forecast over the monthly budget: above 100% the month may end over budget.',
        unit: 'percentunit',
        width: 6,
        height: 5,
        queries: [
          {
            expr: 'max by (budget) (finops_soar_budget_forecast_high_usd) / max by (budget) (finops_soar_budget_usd)',
            legend: '{{budget}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'stat',
        title: 'Budget consumed this month',
        description: 'Spend so far this calendar month (UTC) over the monthly budget.',
        unit: 'percentunit',
        width: 6,
        height: 5,
        queries: [{ expr: 'max by (budget) (finops_soar_budget_consumed_ratio)', legend: '{{budget}}', instant: true }],
      },
      {
        kind: 'timeseries',
        title: 'Spend per day by tenant',
        description: 'Inference spend per UTC day, one bar a day per tenant.',
        unit: 'currencyUSD',
        style: 'bars',
        interval: '1d',
        queries: [
          { expr: `sum by (tenant) (increase(inference_cost_usd_total{${tenant}}[1d]))`, legend: '{{tenant}}' },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Spend pace against budget',
        description:
          "The last hour's spend rate over 30 days, against each monthly budget: a line above its budget ends the month over it.",
        unit: 'currencyUSD',
        queries: [
          {
            expr: `sum(rate(inference_cost_usd_total{${tenant}}[1h])) * 86400 * 30`,
            legend: 'spend at this pace, 30 days',
          },
          { expr: 'max by (budget) (finops_soar_budget_usd)', legend: 'budget {{budget}}' },
        ],
      },
      {
        kind: 'table',
        title: 'Top tenants, last 24 hours',
        description: 'The ten tenants that spent most over the last 24 hours.',
        unit: 'currencyUSD',
        width: 8,
        queries: [
          {
            expr: `topk(10, sum by (tenant) (increase(inference_cost_usd_total{${tenant}}[1d])))`,
            legend: '{{tenant}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'table',
        title: 'Top routes, last 24 hours',
        description: 'The ten routes that cost most over the last 24 hours.',
        unit: 'currencyUSD',
        width: 8,
        queries: [
          {
            expr: `topk(10, sum by (route) (increase(inference_cost_usd_total{${tenant}}[1d])))`,
            legend: '{{route}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'table',
        title: 'Top tenants and routes, last 24 hours',
        description: 'The ten tenant and route pairs that cost most: where a playbook would act first.',
        unit: 'currencyUSD',
        width: 8,
        queries: [
          {
            expr: `topk(10, sum by (tenant, route) (increase(inference_cost_usd_total{${tenant}}[1d])))`,
            legend: '{{tenant}} {{route}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Cost per 1k requests by route',
        description: 'Dollars per thousand served requests (cache hits included: they cost nothing).',
        unit: 'currencyUSD',
        queries: [
          {
            expr: `sum by (route) (rate(inference_cost_usd_total{${tenant}}[$__rate_interval])) / sum by (route) (rate(http_requests_total{code="200", ${tenant}}[$__rate_interval])) * 1000`,
            legend: '{{route}}',
          },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Cost per 1k tokens by route',
        description: 'Dollars per thousand tokens, input and output together: the model tier and the cache move it.',
        unit: 'currencyUSD',
        queries: [
          {
            expr: `sum by (route) (rate(inference_cost_usd_total{${tenant}}[$__rate_interval])) / sum by (route) (rate(llm_tokens_total{${tenant}}[$__rate_interval])) * 1000`,
            legend: '{{route}}',
          },
        ],
      },
      {
        kind: 'table',
        title: 'Unit costs by tenant, route and model, last hour',
        description:
          'Dollars per 1k tokens by model, from the recorded unit costs (finops-soar.rules.yml): which model makes a tenant expensive. Per 1k requests and tokens per request are by tenant and route (requests carry no model).',
        unit: 'currencyUSD',
        width: 12,
        queries: [
          {
            expr: `sort_desc(tenant_route_model:inference_cost_usd_per_1k_tokens:ratio_rate1h{${tenant}})`,
            legend: '{{tenant}} {{route}} {{model}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'table',
        title: 'Cost per 1k requests and tokens per request, last hour',
        description: 'By tenant and route, from the recorded unit costs: a request that grew costs more.',
        unit: 'short',
        width: 12,
        queries: [
          {
            expr: `sort_desc(tenant_route:inference_cost_usd_per_1k_requests:ratio_rate1h{${tenant}})`,
            legend: '$ per 1k requests {{tenant}} {{route}}',
            instant: true,
          },
          {
            expr: `sort_desc(tenant_route:llm_tokens_per_request:ratio_rate1h{${tenant}})`,
            legend: 'tokens per request {{tenant}} {{route}}',
            instant: true,
          },
        ],
      },
      {
        kind: 'stat',
        title: 'CAPAs open and overdue',
        description:
          'Corrective and preventive actions opened by cost runs and not yet closed, and those past their due date (docs/capa.md): `finops-soar capas --overdue` lists them.',
        unit: 'short',
        width: 24,
        height: 4,
        queries: [
          { expr: 'max(finops_soar_capas{state="open"})', legend: 'open', instant: true },
          { expr: 'max(finops_soar_capas{state="overdue"})', legend: 'overdue', instant: true },
        ],
      },
      {
        kind: 'timeseries',
        title: 'Budget burn rate',
        description:
          'Spend rate over the budget pace (1 spends the monthly budget in exactly 30 days), over 1 and 6 hours, from budgets.rules.yml. The alerts page at 14.4x (1h) and 6x (6h).',
        unit: 'x',
        width: 24,
        queries: [
          { expr: 'budget:inference_cost_usd:burn_rate1h', legend: '{{budget}} 1h' },
          { expr: 'budget:inference_cost_usd:burn_rate6h', legend: '{{budget}} 6h' },
        ],
      },
    ],
  });
