// The engine's limits across runs, held by the engineLimits workflow on a real Temporal dev server.
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { ENGINE_LIMITS_WORKFLOW_ID, limitsQuery } from '../../workflows/engine-limits';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
  await harness.startWorker('two-runs', { limits: { maxConcurrentRuns: 2 } });
  await harness.startWorker('two-actions', { limits: { maxActionsPerTargetPerHour: 2 } });
});
afterAll(() => harness?.close());

const playbook = (name: string, steps: string[]) => `
name: ${name}
description: ${name}
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
steps:
${steps.map((step) => `  - ${step}`).join('\n')}`;

const cap = (id: string, tokens: number) =>
  `{ id: ${id}, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: ${tokens} } } }`;

test('beyond maxConcurrentRuns a run is refused and recorded; a slot frees when a run ends, even a terminated one', async () => {
  const yaml = playbook('concurrency', [cap('cap', 8192)]);
  const fire = (tenant: string) => harness.fire(yaml, alert({ route: 'chat', tenant }), { taskQueue: 'two-runs' });
  const first = await fire('c1');
  const second = await fire('c2');
  await waitFor(
    'two active runs',
    async () =>
      ((await first.query(statusQuery)).state === 'mitigated' &&
        (await second.query(statusQuery)).state === 'mitigated') ||
      undefined,
  );

  const third = await fire('c3');
  const refused = await third.result();
  expect(refused.state).toBe('refused');
  expect(refused.skipped).toEqual([
    { stepId: 'cap', reason: 'not run: 2 runs are already active (engine.maxConcurrentRuns is 2)' },
  ]);
  expect(harness.changesFor('chat', 'c3')).toHaveLength(0);

  // A run that ends gives its slot back...
  await first.signal(alertNotificationSignal, notification(resolved(alert({ route: 'chat', tenant: 'c1' }))));
  expect((await first.result()).state).toBe('rolled-back');
  const fourth = await fire('c4');
  await waitFor('the fourth run', () => harness.stateOf(fourth, 'mitigated'));

  // ...and so does one that was terminated without cleaning up.
  await second.terminate('operator');
  const fifth = await fire('c5');
  await waitFor('the fifth run', () => harness.stateOf(fifth, 'mitigated'));
  const limits = await harness.env.client.workflow.getHandle(ENGINE_LIMITS_WORKFLOW_ID).query(limitsQuery);
  expect(Object.keys(limits.runs).sort()).toEqual([
    'playbook/concurrency/route=chat,tenant=c4',
    'playbook/concurrency/route=chat,tenant=c5',
  ]);
  await Promise.all([fourth.terminate('test done'), fifth.terminate('test done')]);
  recordHistoryIfAsked(
    harness.env.address,
    harness.env.client.workflow.getHandle(ENGINE_LIMITS_WORKFLOW_ID),
    'engine-limits',
  );
});

test('beyond maxActionsPerTargetPerHour a step is refused and recorded, across runs on the same target', async () => {
  const firing = alert({ route: 'chat', tenant: 'flappy' });
  const handle = await harness.fire(
    playbook('actions', [cap('first', 16384), cap('second', 8192), cap('third', 4096)]),
    firing,
    { taskQueue: 'two-actions' },
  );
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied.map((a) => a.stepId)).toEqual(['first', 'second']);
  expect(status.skipped).toEqual([
    {
      stepId: 'third',
      reason:
        'refused: route=chat,tenant=flappy already took 2 actions in the last 60 minutes (engine.maxActionsPerTargetPerHour is 2)',
    },
  ]);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');

  // The alert flaps: a new run on the same target within the hour changes nothing more.
  const again = await harness.fire(
    playbook('actions', [cap('first', 16384)]),
    { ...firing, startsAt: '2026-11-28T11:00:00Z' },
    { taskQueue: 'two-actions' },
  );
  await waitFor('the second run to settle', () => harness.stateOf(again, 'mitigated'));
  expect((await again.query(statusQuery)).skipped[0]?.reason).toMatch(
    /^refused: route=chat,tenant=flappy already took 2 actions/,
  );
  expect(harness.changesFor('chat', 'flappy').filter((c) => c.idempotencyKey?.endsWith('/apply'))).toHaveLength(2);
  await again.terminate('test done');
});
