// The Prometheus and Alertmanager files under deploy/ checked by the tools that will load them:
// `promtool check rules` / `check config`, `amtool check-config`, and `promtool test rules` on
// every unit test file (each alert fires on its incident and stays silent on normal load, a
// short blip and, for the 14-day rule, a young series). Also the budget rules the engine
// renders, and the query cost-s1 measures its burn rate with, evaluated by Prometheus itself.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../config/config-load';
import { alertRulesSchema } from '../../alert-rules/alert-rules-schema';
import { renderAlertRules } from '../../alert-rules/render-alert-rules';
import { renderKongRules } from '../../alert-rules/render-kong-rules';
import { renderLiteLlmRules } from '../../alert-rules/render-litellm-rules';
import { budgetAlertRules } from '../../finops/budget-rules';
import { renderTemplates } from '../../playbook/plan';

const ROOT = resolve(__dirname, '../..');
const RULES_DIR = join(ROOT, 'deploy/prometheus/rules');
const TESTS_DIR = join(ROOT, 'deploy/prometheus/tests');
const INSTALL_HINT: Record<string, string> = {
  promtool: 'apt-get install prometheus; bash .ci/run does it',
  amtool: 'apt-get install prometheus-alertmanager; bash .ci/run does it',
};

/** Runs the tool and fails with everything it printed unless it exits 0. */
function run(tool: 'promtool' | 'amtool', args: string[], cwd = ROOT): string {
  const result = spawnSync(tool, args, { cwd, encoding: 'utf8' });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? `${tool} is not installed: ${INSTALL_HINT[tool]}`
        : `${tool} ${args.join(' ')}: ${result.error.message}`,
    );
  }
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0)
    throw new Error(`${tool} ${args.join(' ')} (in ${cwd}) exited with ${result.status}:\n${output}`);
  return output;
}

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.yml'))
    .sort();

describe('deploy/prometheus/rules', () => {
  test.each(yamlFiles(RULES_DIR))('promtool check rules %s', (file) => {
    expect(run('promtool', ['check', 'rules', join(RULES_DIR, file)])).toContain('SUCCESS');
  });

  test('there is a unit test for every alert of finops-soar.rules.yml and engine.rules.yml', () => {
    const alerts = new Set<string>();
    for (const file of ['finops-soar.rules.yml', 'engine.rules.yml']) {
      const rules = parse(readFileSync(join(RULES_DIR, file), 'utf8')) as {
        groups: Array<{ rules: Array<{ alert?: string }> }>;
      };
      for (const group of rules.groups) for (const rule of group.rules) if (rule.alert) alerts.add(rule.alert);
    }
    const tested = new Set<string>();
    for (const file of yamlFiles(TESTS_DIR)) {
      const suite = parse(readFileSync(join(TESTS_DIR, file), 'utf8')) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string }> }>;
      };
      for (const group of suite.tests) for (const check of group.alert_rule_test ?? []) tested.add(check.alertname);
    }
    expect([...alerts].sort()).toEqual([
      'FinopsSoarAlertsRejected',
      'FinopsSoarIngressAbsent',
      'FinopsSoarRollbackFailing',
      'FinopsSoarRunsStuckRollingBack',
      'FinopsSoarRunsWaitingLong',
      'FinopsSoarWebhookErrors',
      'FinopsSoarWorkerAbsent',
      'FinopsSoarWorkflowTasksFailing',
      'GPUSaturatedQueueGrowing',
      'LLMCacheHitRatioLow',
      'LLMCacheSavingsOpportunity',
      'LLMInputTokensPerRequestHigh',
      'LLMSpendBurnRateHigh',
    ]);
    expect([...tested].sort()).toEqual([...alerts].sort());
  });
});

describe('alert rules rendered from config `alerts`', () => {
  test('deploy/prometheus/rules/finops-soar.rules.yml is what finops-soar.yaml renders', () => {
    const { alerts } = loadConfig({ file: join(ROOT, 'finops-soar.yaml'), env: {} });
    // When this fails after a change to `alerts` or the renderer: npx finops-soar rules
    expect(readFileSync(join(RULES_DIR, 'finops-soar.rules.yml'), 'utf8')).toBe(renderAlertRules(alerts));
  });

  test('overrides render as rules of their own that promtool accepts (no duplicate rules)', () => {
    const workDir = mkdtempSync(join(tmpdir(), 'finops-soar-alert-rules-'));
    try {
      const alerts = alertRulesSchema.parse({
        series: { cost: 'litellm_spend_metric_total{team!=""}' },
        overrides: [
          {
            match: { tenant: 'acme' },
            spendBurnRate: { S2: { above: 3 } },
            inputTokensPerRequest: { S2: { for: '1h' } },
          },
          { match: { route: 'chat' }, spendBurnRate: { S2: { above: 2.5 }, S1: { for: '5m' } } },
          { match: { deployment: 'llm-premium-us-east-1' }, gpuSaturation: { S2: { queueGrowthPerMinute: 2 } } },
        ],
      });
      writeFileSync(join(workDir, 'overridden.rules.yml'), renderAlertRules(alerts));
      expect(run('promtool', ['check', 'rules', join(workDir, 'overridden.rules.yml')])).toContain(
        // 11 recording rules (3 of them unit costs) and 12 alerts (the defaults' and the overrides' own).
        'SUCCESS: 23 rules found',
      );
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});

describe('deploy/prometheus/litellm', () => {
  const file = join(ROOT, 'deploy/prometheus/litellm/litellm.rules.yml');
  test('litellm.rules.yml is what the default gateway.litellm.tiers render, and promtool accepts it', () => {
    const { gateway } = loadConfig({ file: join(ROOT, 'finops-soar.yaml'), env: {} });
    // When this fails after a change to the renderer: FINOPS_SOAR_GATEWAY_KIND=litellm npx finops-soar rules litellm
    expect(readFileSync(file, 'utf8')).toBe(renderLiteLlmRules(gateway.litellm.tiers));
    expect(run('promtool', ['check', 'rules', file])).toContain('SUCCESS: 9 rules found');
  });
});

describe('deploy/prometheus/kong', () => {
  const file = join(ROOT, 'deploy/prometheus/kong/kong.rules.yml');
  test('kong.rules.yml is the rendering, and promtool accepts it', () => {
    // When this fails after a change to the renderer: npx finops-soar rules kong > deploy/prometheus/kong/kong.rules.yml
    expect(readFileSync(file, 'utf8')).toBe(renderKongRules());
    expect(run('promtool', ['check', 'rules', file])).toContain('SUCCESS: 2 rules found');
  });
});

describe('deploy/prometheus/tests', () => {
  test.each(yamlFiles(TESTS_DIR))('promtool test rules %s', (file) => {
    expect(run('promtool', ['test', 'rules', file], TESTS_DIR)).toContain('SUCCESS');
  });
});

describe('prometheus.yml and alertmanager.yml', () => {
  test('promtool check config (and the rule files it loads)', () => {
    const output = run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    expect(output).toContain('budgets.rules.yml');
    expect(output).toContain('finops-soar.rules.yml');
  });

  test('amtool check-config', () => {
    expect(run('amtool', ['check-config', 'deploy/alertmanager/alertmanager.yml'])).toContain('SUCCESS');
  });
});

describe('budget burn-rate rules', () => {
  let workDir: string;
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'finops-soar-budget-rules-'));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  test('deploy/prometheus/rules/budgets.rules.yml is what finops-soar.yaml’s budgets render', () => {
    const { budgets } = loadConfig({ file: join(ROOT, 'finops-soar.yaml'), env: {} }).finops;
    const checkedIn = readFileSync(join(RULES_DIR, 'budgets.rules.yml'), 'utf8');
    // When this fails after a budget change: finops-soar rules > deploy/prometheus/rules/budgets.rules.yml
    expect(checkedIn).toBe(budgetAlertRules(budgets));
  });

  test('promtool test rules on the rules rendered for fixture budgets', () => {
    writeFileSync(
      join(workDir, 'budgets.rules.yml'),
      budgetAlertRules({
        platform: { monthlyUsd: 2_592_000, selector: '' },
        acme: { monthlyUsd: 25_920, selector: 'tenant="acme"' },
        globex: { monthlyUsd: 25_920, selector: 'tenant="globex"' },
      }),
    );
    copyFileSync(join(__dirname, 'fixtures/budgets.promtool.yml'), join(workDir, 'budgets.promtool.yml'));
    expect(run('promtool', ['test', 'rules', 'budgets.promtool.yml'], workDir)).toContain('SUCCESS');
  });

  test('no budgets: a valid rule file without groups', () => {
    const rendered = budgetAlertRules({});
    expect(parse(rendered)).toEqual({ groups: [] });
    writeFileSync(join(workDir, 'none.rules.yml'), rendered);
    expect(run('promtool', ['check', 'rules', join(workDir, 'none.rules.yml')])).toContain('SUCCESS');
  });

  test('the burn rate is spend over the pace that spends the budget in 30 days', () => {
    const rules = parse(budgetAlertRules({ acme: { monthlyUsd: 25_920, selector: 'tenant="acme", env="prod"' } })) as {
      groups: Array<{ name: string; interval?: string; rules: Array<Record<string, unknown>> }>;
    };
    expect(rules.groups.map((group) => [group.name, group.interval])).toEqual([
      ['finops-soar-budget-burn-rates', undefined],
      ['finops-soar-budget-burn-rates-long', '2m'],
      ['finops-soar-budget-alerts', undefined],
    ]);
    expect(rules.groups[0]!.rules[0]).toEqual({
      record: 'budget:inference_cost_usd:burn_rate5m',
      expr: 'sum(rate(inference_cost_usd_total{tenant="acme", env="prod"}[5m])) / 0.01',
      labels: { budget: 'acme' },
    });
    expect(rules.groups[2]!.rules.map((rule) => [rule.expr, rule.for, rule.labels])).toEqual([
      [
        'budget:inference_cost_usd:burn_rate1h{budget="acme"} > 14.4 and budget:inference_cost_usd:burn_rate5m{budget="acme"} > 14.4',
        '2m',
        { severity: 'S1', budget: 'acme', window: '1h' },
      ],
      [
        'budget:inference_cost_usd:burn_rate6h{budget="acme"} > 6 and budget:inference_cost_usd:burn_rate30m{budget="acme"} > 6',
        '5m',
        { severity: 'S1', budget: 'acme', window: '6h' },
      ],
      [
        'budget:inference_cost_usd:burn_rate1d{budget="acme"} > 3 and budget:inference_cost_usd:burn_rate2h{budget="acme"} > 3',
        '15m',
        { severity: 'S2', budget: 'acme', window: '1d' },
      ],
      [
        'budget:inference_cost_usd:burn_rate3d{budget="acme"} > 1 and budget:inference_cost_usd:burn_rate6h{budget="acme"} > 1',
        '30m',
        { severity: 'S2', budget: 'acme', window: '3d' },
      ],
    ]);
  });

  test.each([
    [
      'an upper-case name',
      { Acme: { monthlyUsd: 1000, selector: '' } },
      'budget "Acme": names are lower-case letters, digits and dashes',
    ],
    [
      'a zero budget',
      { acme: { monthlyUsd: 0, selector: '' } },
      'budget "acme": monthlyUsd must be a positive number of US dollars, got 0; fix finops.budgets.acme.monthlyUsd',
    ],
    ['a budget that is not a number', { acme: { monthlyUsd: Number.NaN, selector: '' } }, 'got NaN'],
    [
      'a selector in braces',
      { acme: { monthlyUsd: 1000, selector: '{tenant="acme"}' } },
      'budget "acme": write the selector\'s label matchers without braces, e.g. tenant="acme" (got {tenant="acme"})',
    ],
  ])('refuses %s', (_case, budgets, message) => {
    expect(() => budgetAlertRules(budgets)).toThrow(message);
  });
});

describe('cost-s1 adaptive throttling: the burn-rate query it measures', () => {
  let workDir: string;
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'finops-soar-measure-'));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  interface PlaybookFile {
    steps: Array<{ id: string; adapt?: { measure: { params: { query: string } } } }>;
  }
  const playbook = parse(readFileSync(join(ROOT, 'playbooks/cost-s1.yaml'), 'utf8')) as PlaybookFile;
  const measureQuery = playbook.steps.find((step) => step.adapt)?.adapt?.measure.params.query;
  const queryFor = (labels: Record<string, string>) =>
    renderTemplates(measureQuery, { labels, annotations: {} }) as string;

  test('Prometheus gives the 10-minute over 14-day ratio with 14 days of history, and nothing without', () => {
    expect(measureQuery).toContain('[14d]');
    // Sampled every 5 minutes for 15 days. acme/chat: $1/s, then $64/s over the last 10 minutes.
    // Over the 14 days before 15d it spent 14 days less 10 minutes at $1/s and 10 minutes at $64/s,
    // 1.03125 $/s on average (exact in binary), so the ratio is 64 / 1.03125. initech/chat starts
    // on day 2 and spends the same, with 13 days of history only. globex/chat and acme/summarize
    // spend far more and must not count.
    const measured = 64 / 1.03125;
    const labels =
      'env="prod",job="simulator",instance="simulator:8090",model="llama-3.1-405b-instruct",region="us-east-1"';
    const suite = {
      evaluation_interval: '5m',
      tests: [
        {
          interval: '5m',
          input_series: [
            {
              series: `inference_cost_usd_total{${labels},tenant="acme",route="chat"}`,
              values: '0+300x4318 1314600+19200x1',
            },
            {
              series: `inference_cost_usd_total{${labels},tenant="initech",route="chat"}`,
              values: '_x576 0+300x3742 1141800+19200x1',
            },
            { series: `inference_cost_usd_total{${labels},tenant="globex",route="chat"}`, values: '0+30000x4320' },
            { series: `inference_cost_usd_total{${labels},tenant="acme",route="summarize"}`, values: '0+30000x4320' },
          ],
          promql_expr_test: [
            {
              expr: queryFor({ route: 'chat', tenant: 'acme' }),
              eval_time: '15d',
              exp_samples: [{ labels: '{}', value: measured }],
            },
            { expr: queryFor({ route: 'chat', tenant: 'initech' }), eval_time: '15d', exp_samples: [] },
          ],
        },
      ],
    };
    writeFileSync(join(workDir, 'measure.test.yml'), JSON.stringify(suite, null, 2));
    expect(run('promtool', ['test', 'rules', 'measure.test.yml'], workDir)).toContain('SUCCESS');
  });
});
