// What every finops-soar dashboard shares: the Prometheus data source chosen by a variable, the Temporal UI and
// runbook links, the tenant/route filters, and a flowing 24-column layout so a dashboard file lists its panels in
// reading order and nothing else. Pure: building a dashboard reads no file and no clock, so the generated JSON
// is the same on every machine (test/integration/dashboards.test.ts holds the committed JSON to it).
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  TextBoxVariableBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeSeriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
export const TEMPORAL_UI_DEFAULT = 'http://localhost:8233';
/** Where the docs pages are read; a variable, so a fork or an internal mirror points the links at its own. */
export const DOCS_DEFAULT = 'https://github.com/finops-soar/finops-soar/blob/main/docs';

export interface DashboardSpec {
  /** The file name under deploy/grafana/dashboards and the dashboard's uid, `finops-soar-<name>`. */
  name: string;
  title: string;
  description: string;
  /** The docs page (under docs/) an on-call reads beside this dashboard, with an optional #anchor. */
  runbook: string;
  /** Label filters offered as variables, each read from the metric named. */
  filters: Array<{ label: string; metric: string }>;
  panels: PanelSpec[];
}

export interface QuerySpec {
  expr: string;
  legend?: string;
  /** A table's or a stat's query answers one value per series, not a range. */
  instant?: boolean;
}

export interface PanelSpec {
  kind: 'timeseries' | 'stat' | 'table';
  title: string;
  description: string;
  unit: string;
  queries: QuerySpec[];
  /** Columns out of 24 (default 12) and rows (default 8). */
  width?: number;
  height?: number;
  /** Stacked areas, e.g. hot and cold bytes; bars for per-day totals. */
  style?: 'stacked' | 'bars';
  /** A step interval for the panel's queries, e.g. '1d' for one bar a day. */
  interval?: string;
}

const query = ({ expr, legend, instant }: QuerySpec, index: number) => {
  const builder = new DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(String.fromCharCode(65 + index))
    .expr(expr)
    .legendFormat(legend ?? '__auto');
  // An instant query as a table: one row per series, its labels as columns.
  return instant ? builder.instant().format(PromQueryFormat.Table) : builder.range();
};

function panel(spec: PanelSpec, gridPos: { x: number; y: number; w: number; h: number }): cog.Builder<Panel> {
  const targets = spec.queries.map(query);
  if (spec.kind === 'stat')
    return new StatBuilder()
      .title(spec.title)
      .description(spec.description)
      .datasource(DATASOURCE)
      .unit(spec.unit)
      .gridPos(gridPos)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
      .targets(targets);
  if (spec.kind === 'table')
    return new TableBuilder()
      .title(spec.title)
      .description(spec.description)
      .datasource(DATASOURCE)
      .unit(spec.unit)
      .gridPos(gridPos)
      .targets(targets);
  const builder = new TimeSeriesBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .gridPos(gridPos)
    .targets(targets)
    .fillOpacity(spec.style === 'stacked' ? 40 : spec.style === 'bars' ? 80 : 10);
  if (spec.interval) builder.interval(spec.interval);
  return builder;
}

/** The dashboard as Grafana's JSON model, panels flowing left to right, top to bottom. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(`finops-soar-${spec.name}`)
    .description(spec.description)
    .tags(['finops-soar', 'generated'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-24h', to: 'now' })
    .timezone('utc')
    .refresh('30s')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
    .withVariable(
      new TextBoxVariableBuilder('temporal_ui')
        .label('Temporal UI')
        .description('Where the Temporal UI answers: the links to runs open there.')
        .defaultValue(TEMPORAL_UI_DEFAULT),
    )
    .withVariable(
      new TextBoxVariableBuilder('docs')
        .label('Docs')
        .description("Where finops-soar's docs/ pages are read: the runbook link opens there.")
        .defaultValue(DOCS_DEFAULT),
    );
  for (const { label, metric } of spec.filters) {
    builder.withVariable(
      new QueryVariableBuilder(label)
        .label(label)
        .datasource(DATASOURCE)
        .query({ qryType: 1, query: `label_values(${metric}, ${label})`, refId: 'PrometheusVariableQueryEditor' })
        .definition(`label_values(${metric}, ${label})`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    );
  }
  builder
    .link(
      new DashboardLinkBuilder('Temporal UI')
        .type(DashboardLinkType.Link)
        .icon('external link')
        .tooltip('Runs, their history, approvals and rollbacks')
        .url('${temporal_ui}/namespaces/default/workflows')
        .targetBlank(true),
    )
    .link(
      new DashboardLinkBuilder(`Runbook: docs/${spec.runbook}`)
        .type(DashboardLinkType.Link)
        .icon('doc')
        .tooltip('What to do about what this dashboard shows')
        .url(`\${docs}/${spec.runbook}`)
        .targetBlank(true),
    )
    .link(
      new DashboardLinkBuilder('finops-soar dashboards')
        .type(DashboardLinkType.Dashboards)
        .tags(['finops-soar'])
        .asDropdown(true)
        .keepTime(true),
    );
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const panelSpec of spec.panels) {
    const w = panelSpec.width ?? 12;
    const h = panelSpec.height ?? 8;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    builder.withPanel(panel(panelSpec, { x, y, w, h }));
    x += w;
    rowHeight = Math.max(rowHeight, h);
  }
  const dashboard = builder.build();
  dashboard.panels?.forEach((built, index) => (built.id = index + 1));
  return dashboard;
}

/** A PromQL label matcher for a multi-value variable: `tenant=~"$tenant"`. */
export const filter = (...labels: string[]) => labels.map((label) => `${label}=~"$${label}"`).join(', ');
