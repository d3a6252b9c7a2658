// Adapt steps (adaptive throttling) on a real Temporal dev server, measuring through a real
// Prometheus that scrapes a local exporter: the rate limit steps down as the burn rises, back up
// as it falls, and the values from before the step return when it falls below every level.
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const QUEUE = 'adapt-with-prometheus';
let harness: Harness;
let prometheus: RunningPrometheus;

const burn = (ratio: number) => `# TYPE finops_burn_ratio gauge
finops_burn_ratio{route="chat",tenant="hooli"} ${ratio}
finops_burn_ratio{route="fraud",tenant="hooli"} 5
`;

beforeAll(async () => {
  harness = await startHarness();
  prometheus = await startPrometheus(burn(3));
  await harness.startWorker(QUEUE, { prometheusUrl: prometheus.url });
});
afterAll(async () => {
  await harness?.close();
  await prometheus?.close();
});

const THROTTLE = `
name: adaptive-throttle
description: adaptive throttle
severity: S1
match: [alertname="LLMSpendBurnRateHigh"]
target: route
steps:
  - id: throttle
    adapt:
      every: 1s
      measure:
        check: prometheus.query
        params: { query: 'max(finops_burn_ratio{route="{{ labels.route }}",tenant="{{ labels.tenant }}"})' }
      action: gateway.setRoutePolicy
      levels:
        - { above: 2, params: { policy: { rateLimitRps: 40 } } }
        - { above: 4, params: { policy: { rateLimitRps: 20 } } }
        - { above: 8, params: { policy: { rateLimitRps: 10 } } }
`;

const rateLimit = () => harness.simulator.store.get({ route: 'chat', tenant: 'hooli' }).policy.rateLimitRps;
const setBurn = async (ratio: number) => {
  prometheus.metrics.text = burn(ratio);
  // Wait for Prometheus to have scraped it, so the run measures it next.
  await waitFor(`a burn of ${ratio} in Prometheus`, async () => {
    const body = (await (
      await fetch(`${prometheus.url}/api/v1/query?query=max(finops_burn_ratio{route="chat"})`)
    ).json()) as { data: { result: Array<{ value: [number, string] }> } };
    return Number(body.data.result[0]?.value[1]) === ratio || undefined;
  });
};

test('the rate limit follows the burn ratio in steps, and the route gets its own limit back below every level and at rollback', async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S1', route: 'chat', tenant: 'hooli' });
  const handle = await harness.fire(THROTTLE, firing, { taskQueue: QUEUE, cooldownMs: 300 });
  await waitFor('the first level', () => rateLimit() === 40 || undefined);

  await setBurn(9);
  await waitFor('the strictest level', () => rateLimit() === 10 || undefined);
  await setBurn(5);
  // The gateway has a change before the run records it: wait for the run, then look at the gateway.
  const adapting = await waitFor('one level back up, in the run', async () => {
    const current = (await handle.query(statusQuery)).adapting[0];
    return current?.level === 1 ? current : undefined;
  });
  expect(adapting).toMatchObject({ stepId: 'throttle', level: 1, value: 5, note: null });
  expect(rateLimit()).toBe(20);

  await setBurn(1);
  const status = await waitFor('the limit from before the step, in the run', async () => {
    const current = await handle.query(statusQuery);
    return current.adapting[0]?.level === null && current.adapting[0].value === 1 ? current : undefined;
  });
  expect(rateLimit()).toBeUndefined();
  expect(status.adapting[0]).toMatchObject({ level: null, value: 1 });
  expect(status.applied.map(({ stepId, summary, undoneAt }) => [stepId, summary, undoneAt === null])).toEqual([
    ['throttle', 'route chat (tenant hooli): rateLimitRps unset → 40', false],
    ['throttle', 'route chat (tenant hooli): rateLimitRps 40 → 10', false],
    ['throttle', 'route chat (tenant hooli): rateLimitRps 10 → 20', false],
  ]);

  await setBurn(3);
  await waitFor('throttled again', () => rateLimit() === 40 || undefined);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  expect(summary.state).toBe('rolled-back');
  expect(rateLimit()).toBeUndefined();
  expect(summary.applied.every(({ undoneAt }) => undoneAt !== null)).toBe(true);
  recordHistoryIfAsked(harness.env.address, handle, 'adapt');
});

test('a protected route is never throttled: the adapt step is refused and stops', async () => {
  const run = await harness.fire(
    THROTTLE,
    alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S1', route: 'fraud', tenant: 'hooli' }),
    { taskQueue: QUEUE },
  );
  await waitFor('the run to mitigate', () => harness.stateOf(run, 'mitigated'));
  const status = await run.query(statusQuery);
  expect(status.adapting).toEqual([]);
  expect(status.skipped).toEqual([
    { stepId: 'throttle', reason: expect.stringMatching(/^level above 4 refused: .*fraud.*protected/) as unknown },
  ]);
  expect(harness.simulator.store.get({ route: 'fraud', tenant: 'hooli' }).policy).toEqual({});
});

test('a measurement that gives no number keeps the level in force and says so', async () => {
  const run = await harness.fire(
    THROTTLE,
    alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S1', route: 'summarize', tenant: 'hooli' }),
    { taskQueue: QUEUE },
  );
  await waitFor('the run to mitigate', () => harness.stateOf(run, 'mitigated'));
  expect((await run.query(statusQuery)).adapting[0]).toMatchObject({
    level: null,
    value: null,
    note: 'prometheus.query gave no number for value; the level stays',
  });
  expect(harness.simulator.store.get({ route: 'summarize', tenant: 'hooli' }).policy).toEqual({});
});

test('an adapt step keeps adjusting across continue-as-new, and its change is still rolled back', async () => {
  await setBurn(3);
  const firing = alert(
    { alertname: 'LLMSpendBurnRateHigh', severity: 'S1', route: 'chat', tenant: 'hooli' },
    { startsAt: '2026-11-28T12:00:00Z' },
  );
  // Each round of measuring adds events: a small history limit makes the run continue as new.
  const handle = await harness.fire(THROTTLE, firing, { taskQueue: QUEUE, cooldownMs: 300, historyLimit: 80 });
  await waitFor('the first level', () => rateLimit() === 40 || undefined);
  const firstRunId = (await handle.describe()).runId;
  await waitFor('a fresh history', async () => (await handle.describe()).runId !== firstRunId || undefined);

  await setBurn(9);
  // The run records the level once the change is made: wait for the run, then look at the gateway.
  await waitFor('the strictest level, in the continued run', async () =>
    (await handle.query(statusQuery)).adapting[0]?.level === 2 ? true : undefined,
  );
  expect((await handle.query(statusQuery)).adapting[0]).toMatchObject({ stepId: 'throttle', level: 2 });
  expect(rateLimit()).toBe(10);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(rateLimit()).toBeUndefined();
});
