// Label values in PromQL, against a real Prometheus (Debian's) scraping series whose label values are hostile.
// What it proves:
// - promqlString(value) makes a matcher that Prometheus parses and that selects exactly the series whose label is
//   that value, and no other, for any value: quotes, backslashes, newlines, controls, U+FFFD, unicode, very long,
//   and matcher-closing text like nothing"} or vector(1) or up{job="none (1,000 cases);
// - pasted raw, as a playbook template does, such a value does rewrite the query (why the check below exists);
// - the prometheus.query check refuses a query holding, unescaped, a target label value PromQL reads as syntax,
//   rendered from a shipped-style template by the plan's own renderTemplates; a plain value runs as before;
// - a playbook's query template planned with any such value (planRun escapes it for the string literal it stands
//   in, and as an exact regular expression after =~) selects exactly that series, through the check (1,000 cases);
// - a budget named by a label (cost-s1's policy.tier: budget "{{ labels.tenant }}") finds only configured budgets,
//   never Object's members, whose selector would build the spend query.
import type { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import fc from 'fast-check';
import { targetOf, type Target } from '../../alerts/target';
import { budgetNamed } from '../../finops/finops-activities';
import { parsePlaybook } from '../../playbook/playbook-load';
import { planRun, renderTemplates } from '../../playbook/plan';
import { createPrometheusActivities } from '../../prometheus/prometheus-activities';
import { PrometheusClient } from '../../prometheus/prometheus-client';
import { promqlString } from '../../prometheus/promql';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';

const INJECTION = 'nothing"} or vector(1) or up{job="none';
const metachars = fc.constantFrom(...'"\\\n\r\t\u0000\u0001\u001f\u007f\u0085\u2028\ufffd\'`{}[]()=~!,|'.split(''));
const hostileValue = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
    fc.string({ unit: fc.oneof(metachars, fc.constantFrom('a', 'é', '😀')), minLength: 1, maxLength: 30 }),
    fc.constantFrom(INJECTION, '"', '\\', '\\"', '\n', '}', '"} or up{', '\ufffd', 'chat', 'chat '),
    fc.string({ unit: 'grapheme', minLength: 1_000, maxLength: 1_500 }),
  )
  // Prometheus drops a label whose value is empty: no series has one.
  .filter((value) => value !== '');

// The series Prometheus holds, each with its index as its value; a fixed seed, so a failure reproduces.
const SERVED = [
  ...new Set([INJECTION, '"', '\\', '\n', '\ufffd', ...fc.sample(hostileValue, { numRuns: 200, seed: 13 })]),
];
// The text exposition format's own escapes for label values: backslash, double quote and newline.
const expositionValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const EXPOSITION = `# TYPE hostile_series gauge\n${SERVED.map((value, index) => `hostile_series{v="${expositionValue(value)}"} ${index}\n`).join('')}`;

let prometheus: RunningPrometheus;
let client: PrometheusClient;

beforeAll(async () => {
  prometheus = await startPrometheus('# TYPE ready gauge\nready 1\n');
  prometheus.metrics.text = EXPOSITION;
  client = new PrometheusClient({ baseUrl: prometheus.url, timeoutMs: 10_000 });
  await waitFor('Prometheus to hold every hostile series', async () =>
    (await client.query('count(hostile_series)'))[0]?.value === SERVED.length ? true : undefined,
  );
});
afterAll(() => prometheus?.close());

const selected = async (query: string) =>
  (await client.query(query)).map(({ labels, value }) => ({ v: labels.v, value }));

test('a matcher built with promqlString selects exactly the series with that value, and no other', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.constantFrom(...SERVED), hostileValue), async (value) => {
      const index = SERVED.indexOf(value);
      await expect(selected(`hostile_series{v=${promqlString(value)}}`)).resolves.toEqual(
        index === -1 ? [] : [{ v: value, value: index }],
      );
    }),
    { numRuns: 1_000 },
  );
});

test('pasted raw into a matcher, the same value rewrites the query: it selects what the label chose', async () => {
  await expect(selected(`hostile_series{v="${INJECTION}"}`)).resolves.toContainEqual({ v: undefined, value: 1 });
  await expect(selected(`hostile_series{v=${promqlString(INJECTION)}}`)).resolves.toEqual([
    { v: INJECTION, value: SERVED.indexOf(INJECTION) },
  ]);
});

describe('the prometheus.query check on a query rendered from a template', () => {
  const template = 'sum(hostile_series{v="{{ labels.route }}"})';
  const check = (target: Target, query: string) =>
    new MockActivityEnvironment().run(createPrometheusActivities(client)['prometheus.query'], {
      target,
      params: { query },
    });
  const routeTarget = (route: string) => {
    const result = targetOf('route', { route });
    if (!result.ok) throw new Error(`no target for route ${route}`);
    return result.target;
  };

  test.each([INJECTION, 'chat"', 'chat\\', 'chat\nor vector(1)'])(
    'a route label %j that PromQL would read as syntax is refused, naming the label',
    async (route) => {
      const query = renderTemplates(template, { labels: { route }, annotations: {} }) as string;
      const failure = await check(routeTarget(route), query).then(
        () => undefined,
        (error: unknown) => error as ApplicationFailure,
      );
      expect(failure?.type).toBe('InvalidParams');
      expect(failure?.nonRetryable).toBe(true);
      expect(failure?.message).toContain(`the alert's label route ${JSON.stringify(route)} holds characters PromQL`);
    },
  );

  test('a plain value, or a hostile one the query does not hold, runs as before', async () => {
    const plain = SERVED.find((value) => /^[a-z0-9]+$/i.test(value)) ?? 'chat';
    const query = renderTemplates(template, { labels: { route: plain }, annotations: {} }) as string;
    const expected = SERVED.includes(plain) ? SERVED.indexOf(plain) : null;
    await expect(check(routeTarget(plain), query)).resolves.toEqual({ value: expected });
    await expect(check(routeTarget(INJECTION), 'sum(hostile_series{v="\\\\"})')).resolves.toEqual({
      value: SERVED.indexOf('\\'),
    });
  });
});

describe('a playbook query template, planned', () => {
  const { playbook } = parsePlaybook(
    'playbooks/measure.yaml',
    `name: measure
description: Measure the route the alert names.
severity: S2
match: [alertname="HostileRoute"]
target: route
steps:
  - id: exact
    check: prometheus.query
    params:
      query: sum(hostile_series{v="{{ labels.route }}"})
  - id: regex
    check: prometheus.query
    params:
      query: sum(hostile_series{v=~'{{ labels.route }}'})
`,
  );
  const plannedQueries = (route: string) => {
    const labels = { alertname: 'HostileRoute', route };
    const target = targetOf('route', labels);
    if (!target.ok) throw new Error(`no target for route ${route}`);
    const alert = { status: 'firing' as const, labels, annotations: {}, startsAt: '', endsAt: '', generatorURL: '' };
    const planned = planRun(playbook!, { ...alert, fingerprint: 'fp' }, target.target, { cooldownMs: 0 });
    if (!planned.ok) throw new Error(planned.problem);
    return {
      target: target.target,
      queries: planned.plan.steps.map((step) => (step as { params: { query: string } }).params.query),
    };
  };

  test('selects exactly the series the label names, with = and with =~, through the check', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom(...SERVED), hostileValue), async (route) => {
        // A value the query's own text holds (a lone ", say) cannot be told from it there: the check refuses it.
        fc.pre(
          !["sum(hostile_series{v='", "'})", 'sum(hostile_series{v="', '"})'].some((text) => text.includes(route)),
        );
        const { target, queries } = plannedQueries(route);
        const index = SERVED.indexOf(route);
        for (const query of queries)
          await expect(
            new MockActivityEnvironment().run(createPrometheusActivities(client)['prometheus.query'], {
              target,
              params: { query },
            }),
          ).resolves.toEqual({ value: index === -1 ? null : index });
      }),
      // Values whose raw text the escaped query holds across an escape and a quote (`""` in v="\"\""): data, not syntax.
      { numRuns: 1_000, examples: [['""'], ["''"], ['"\\'], ["'\\"], ['="=']] },
    );
  });
});

test.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
  'a budget named %j by a label is no budget: refused, not a TypeError retried forever',
  (name) => {
    const budgets = { acme: { monthlyUsd: 1_000, selector: 'tenant="acme"' } };
    let refusal: ApplicationFailure | undefined;
    try {
      budgetNamed(budgets, 'policy.tier', name);
    } catch (error) {
      refusal = error as ApplicationFailure;
    }
    expect(refusal?.nonRetryable).toBe(true);
    expect(refusal?.message).toContain(`no budget named ${name}`);
  },
);
