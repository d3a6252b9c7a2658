// Prometheus rules that page when a budget burns too fast, rendered from the engine's budgets
// (config `finops.budgets`). Pure: the CLI prints it, and a test keeps the checked-in
// deploy/prometheus/rules/budgets.rules.yml equal to it.
//
// Multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs"): burn rate 1 is
// the pace that spends exactly the monthly budget in 30 days. Each alert needs a long window (is
// the burn real?) and a short one (is it still going on?), so a spike that has ended stops paging
// within minutes and a short blip never fills the long window.
import { Document } from 'yaml';

export interface BudgetSpec {
  monthlyUsd: number;
  /** PromQL label matchers without braces, e.g. `tenant="acme"`; '' counts all spend. */
  selector: string;
}

interface BurnWindow {
  long: string;
  short: string;
  burnRate: number;
  severity: 'S1' | 'S2';
  for: string;
  /** The share of the month's budget spent when the long window burns at this rate. */
  budgetShare: string;
}

/** The workbook's four pairs: 2% of the month in an hour, 5% in 6 hours, 10% in a day, 10% in 3 days. */
const BURN_WINDOWS: readonly BurnWindow[] = [
  { long: '1h', short: '5m', burnRate: 14.4, severity: 'S1', for: '2m', budgetShare: '2%' },
  { long: '6h', short: '30m', burnRate: 6, severity: 'S1', for: '5m', budgetShare: '5%' },
  { long: '1d', short: '2h', burnRate: 3, severity: 'S2', for: '15m', budgetShare: '10%' },
  { long: '3d', short: '6h', burnRate: 1, severity: 'S2', for: '30m', budgetShare: '10%' },
];

const MONTH_SECONDS = 30 * 86_400;
const BUDGET_NAME = /^[a-z0-9][a-z0-9-]*$/;
// Short windows change every scrape; the long ones read days of raw samples and move slowly, so
// they are evaluated every 2 minutes (not 5: a recorded sample must stay within the 5-minute
// lookback of the alerts reading it).
const SHORT_WINDOWS = ['5m', '30m', '1h', '2h'];
const LONG_WINDOWS = ['6h', '1d', '3d'];
const LONG_WINDOWS_INTERVAL = '2m';

const usd = (value: number) => `$${value.toLocaleString('en-US', { maximumFractionDigits: 0 })}`;
const burnRateSeries = (window: string) => `budget:inference_cost_usd:burn_rate${window}`;

function checkBudget(name: string, { monthlyUsd, selector }: BudgetSpec): void {
  if (!BUDGET_NAME.test(name))
    throw new Error(
      `budget "${name}": names are lower-case letters, digits and dashes (they become a label value); rename it in finops.budgets`,
    );
  if (!Number.isFinite(monthlyUsd) || monthlyUsd <= 0)
    throw new Error(
      `budget "${name}": monthlyUsd must be a positive number of US dollars, got ${monthlyUsd}; fix finops.budgets.${name}.monthlyUsd`,
    );
  if (/[{}]/.test(selector))
    throw new Error(
      `budget "${name}": write the selector's label matchers without braces, e.g. tenant="acme" (got ${selector}); fix finops.budgets.${name}.selector`,
    );
}

/** The spend series a budget counts. */
export const budgetSpend = ({ selector }: BudgetSpec) =>
  selector.trim() === '' ? 'inference_cost_usd_total' : `inference_cost_usd_total{${selector}}`;

/** US dollars a second that spend the monthly budget in 30 days: burn rate 1. */
export const budgetPace = ({ monthlyUsd }: BudgetSpec) => monthlyUsd / MONTH_SECONDS;

function burnRateRecords(budgets: ReadonlyArray<[string, BudgetSpec]>, windows: readonly string[]) {
  return budgets.flatMap(([name, budget]) =>
    windows.map((window) => ({
      record: burnRateSeries(window),
      expr: `sum(rate(${budgetSpend(budget)}[${window}])) / ${budgetPace(budget)}`,
      labels: { budget: name },
    })),
  );
}

function burnRateAlerts(budgets: ReadonlyArray<[string, BudgetSpec]>) {
  return budgets.flatMap(([name, { monthlyUsd, selector }]) => {
    const counted = selector.trim() === '' ? 'all inference spend' : `inference spend matching ${selector}`;
    return BURN_WINDOWS.map((window) => ({
      alert: 'LLMBudgetBurnRateHigh',
      expr: `${burnRateSeries(window.long)}{budget="${name}"} > ${window.burnRate} and ${burnRateSeries(window.short)}{budget="${name}"} > ${window.burnRate}`,
      for: window.for,
      labels: { severity: window.severity, budget: name, window: window.long },
      annotations: {
        summary: `Budget ${name} burns {{ $value | printf "%.1f" }}x its monthly pace over the last ${window.long}`,
        description:
          `Budget ${name} (${usd(monthlyUsd)} a month, ${counted}) burned at {{ $value | printf "%.1f" }} times its pace over the last ` +
          `${window.long}, and above ${window.burnRate}x over the last ${window.short}: it is still going on. Burn rate 1 spends exactly the budget in 30 days ` +
          `(${usd(monthlyUsd / 30)} a day); ${window.burnRate}x for ${window.long} spends ${window.budgetShare} of the month's budget. ` +
          `Find who spends: topk(5, tenant_route:inference_cost_usd:rate10m).`,
        budget: name,
        burn_rate: '{{ $value | printf "%.2f" }}',
      },
    }));
  });
}

/** The rule file (YAML) for the budgets: burn-rate recording rules and LLMBudgetBurnRateHigh alerts. */
export function budgetAlertRules(budgets: Record<string, BudgetSpec>): string {
  const sorted = Object.entries(budgets).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, budget] of sorted) checkBudget(name, budget);
  const groups =
    sorted.length === 0
      ? []
      : [
          { name: 'finops-soar-budget-burn-rates', rules: burnRateRecords(sorted, SHORT_WINDOWS) },
          {
            name: 'finops-soar-budget-burn-rates-long',
            interval: LONG_WINDOWS_INTERVAL,
            rules: burnRateRecords(sorted, LONG_WINDOWS),
          },
          { name: 'finops-soar-budget-alerts', rules: burnRateAlerts(sorted) },
        ];
  const document = new Document({ groups });
  document.commentBefore =
    ' Generated by `finops-soar rules` from finops.budgets; do not edit: change the budgets and regenerate.\n' +
    " Burn rate 1 spends exactly the monthly budget in 30 days; the alerts follow the SRE workbook's\n" +
    ' multi-window, multi-burn-rate pairs (1h&5m at 14.4x and 6h&30m at 6x page S1, 1d&2h at 3x and 3d&6h at 1x S2).';
  return document.toString({ lineWidth: 0 });
}
