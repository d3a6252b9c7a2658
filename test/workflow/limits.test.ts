// The engine's limits across runs, held by the shard workflows and the waitlist (workflows/limits/) on a real
// Temporal dev server: a run beyond engine.maxConcurrentRuns waits, visibly, and is admitted the moment a slot frees,
// the most severe first; the hourly budget of actions holds across runs.
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { shardQuery, shardWorkflowId, waitlistQuery, waitlistWorkflowId } from '../../workflows/limits/protocol';
import { alertNotificationSignal, statusQuery, abortUpdate } from '../../workflows/playbook-run/definitions';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

let harness: Harness;
// Short sweeps and reports, so that a terminated holder's slot and a changed place show within a second or two.
const quick = { sweepEveryMs: 1_000, reportEveryMs: 500 };
beforeAll(async () => {
  harness = await startHarness();
  await harness.startWorker('two-runs', { limits: { maxConcurrentRuns: 2, shards: 2, ...quick } });
  await harness.startWorker('one-run', { limits: { maxConcurrentRuns: 1, shards: 3, ...quick } });
  await harness.startWorker('two-actions', { limits: { maxActionsPerTargetPerHour: 2 } });
});
afterAll(() => harness?.close());

const playbook = (name: string, steps: string[], severity = 'S2') => `
name: ${name}
description: ${name}
severity: ${severity}
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
steps:
${steps.map((step) => `  - ${step}`).join('\n')}`;

const cap = (id: string, tokens: number) =>
  `{ id: ${id}, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: ${tokens} } } }`;

const status = (handle: WorkflowHandle) => handle.query(statusQuery);
const waitingAt = async (handle: WorkflowHandle, position: number) => {
  const { state, admission } = await status(handle);
  return (state === 'waiting' && admission?.position === position) || undefined;
};
const resolve = (handle: WorkflowHandle, route: string, tenant: string) =>
  handle.signal(alertNotificationSignal, notification(resolved(alert({ route, tenant }))));
/** Every shard's state; a shard nobody has asked yet holds nothing. */
const shardStates = async (taskQueue: string, shards: number) => {
  const states = await Promise.all(
    Array.from({ length: shards }, (_, shard) =>
      harness.env.client.workflow
        .getHandle(shardWorkflowId(taskQueue, shard))
        .query(shardQuery)
        .catch((error: unknown) => {
          if (error instanceof WorkflowNotFoundError) return null;
          throw error;
        }),
    ),
  );
  return states.filter((state) => state !== null);
};
/** What the shards hold of one run: the objects it owns and its reserved actions. */
const reservedBy = async (taskQueue: string, shards: number, workflowId: string) =>
  (await shardStates(taskQueue, shards)).flatMap((state) => [
    ...Object.entries(state.owners).flatMap(([object, owner]) => (owner === workflowId ? [object] : [])),
    ...Object.values(state.actions).flatMap((actions) =>
      actions.flatMap(({ key }) => (key.startsWith(`${workflowId}/`) ? [key] : [])),
    ),
  ]);
const slotsHeld = async (taskQueue: string, shards: number) =>
  (await shardStates(taskQueue, shards)).flatMap((state) => Object.keys(state.runs)).sort();

test('beyond maxConcurrentRuns a run waits, says so, and is admitted when a slot frees, even a terminated holder’s', async () => {
  const yaml = playbook('concurrency', [cap('cap', 8192)]);
  const fire = (tenant: string) => harness.fire(yaml, alert({ route: 'chat', tenant }), { taskQueue: 'two-runs' });
  const first = await fire('c1');
  const second = await fire('c2');
  await waitFor('two active runs', async () => {
    const states = await Promise.all([first, second].map(async (run) => (await status(run)).state));
    return states.every((state) => state === 'mitigated') || undefined;
  });

  const third = await fire('c3');
  await waitFor('the third run to wait first in line', () => waitingAt(third, 1));
  const waiting = await status(third);
  expect(waiting.admission).toMatchObject({
    waitingFor: 'all 2 run slots are taken (engine.maxConcurrentRuns is 2)',
    position: 1,
    waiting: 1,
    shard: null,
  });
  expect(harness.changesFor('chat', 'c3')).toHaveLength(0);
  // It asked for its first change with its admission (first-change.ts), and gave it back to wait: it holds nothing.
  await waitFor(
    'the waiting run to hold nothing',
    async () => (await reservedBy('two-runs', 2, third.workflowId)).length === 0 || undefined,
  );
  // The Temporal UI and `temporal workflow list` say it too.
  await waitFor('its search attributes and memo', async () => {
    const { typedSearchAttributes, memo } = await third.describe();
    return (
      (typedSearchAttributes.get(SEARCH_ATTRIBUTES.state) === 'waiting' &&
        typedSearchAttributes.get(SEARCH_ATTRIBUTES.waitingFor) === 'run slot' &&
        typedSearchAttributes.get(SEARCH_ATTRIBUTES.waitPosition) === 1 &&
        String(memo?.summary).endsWith(
          'waits for a run slot at position 1 of 1: all 2 run slots are taken (engine.maxConcurrentRuns is 2)',
        )) ||
      undefined
    );
  });

  // A run that ends gives its slot to the waiting run at once, not at the alert's next notification...
  await resolve(first, 'chat', 'c1');
  expect((await first.result()).state).toBe('rolled-back');
  await waitFor('the third run to be admitted', () => harness.stateOf(third, 'mitigated'));
  expect((await status(third)).admission).toMatchObject({ waitingFor: null, position: null });
  expect(harness.changesFor('chat', 'c3')).toHaveLength(1);

  // ...and so does one that was terminated without cleaning up, found by the shard's sweep.
  const fourth = await fire('c4');
  await waitFor('the fourth run to wait', () => waitingAt(fourth, 1));
  await second.terminate('operator');
  await waitFor('the fourth run to be admitted', () => harness.stateOf(fourth, 'mitigated'));
  expect(await slotsHeld('two-runs', 2)).toEqual([
    'playbook/concurrency/route=chat,tenant=c3',
    'playbook/concurrency/route=chat,tenant=c4',
  ]);
  await Promise.all([third.terminate('test done'), fourth.terminate('test done')]);
  recordHistoryIfAsked(
    harness.env.address,
    harness.env.client.workflow.getHandle(shardWorkflowId('two-runs', 0)),
    'limit-shard',
  );
});

test('waiting runs are admitted by severity, then protected routes, then arrival; one that resolves leaves the line', async () => {
  const fire = (name: string, severity: string, route: string, tenant: string) =>
    harness.fire(playbook(name, [cap('cap', 4096)], severity), alert({ route, tenant }), { taskQueue: 'one-run' });
  const holder = await fire('hold', 'S2', 'chat', 'h');
  await waitFor('the holder to mitigate', () => harness.stateOf(holder, 'mitigated'));

  // One at a time, so that their arrival order is known.
  const s3 = await fire('late-s3', 'S3', 'chat', 'a');
  await waitFor('S3 to wait', () => waitingAt(s3, 1));
  const s2 = await fire('then-s2', 'S2', 'chat', 'b');
  await waitFor('S2 to wait ahead of S3', () => waitingAt(s2, 1));
  const core = await fire('core-s2', 'S2', 'core', 'c');
  await waitFor('the protected route to go ahead of the other S2', () => waitingAt(core, 1));
  const gone = await fire('gone-s2', 'S2', 'chat', 'd');
  await waitFor('a fourth to wait', () => waitingAt(gone, 3));
  const s1 = await fire('first-s1', 'S1', 'chat', 'e');
  await waitFor('S1 to go first', () => waitingAt(s1, 1));
  // The others hear their new places.
  await waitFor('every place reported', async () => {
    const places = await Promise.all([s1, core, s2, gone, s3].map(async (run) => (await status(run)).admission));
    return (
      places.every((admission, index) => admission?.position === index + 1 && admission.waiting === 5) || undefined
    );
  });

  // Its alert resolves while it waits: it ends, having changed nothing, and leaves the line.
  await resolve(gone, 'chat', 'd');
  const ended = await gone.result();
  expect(ended.state).toBe('ended-waiting');
  expect(ended.skipped).toEqual([
    { stepId: 'cap', reason: 'not run: the alert resolved while the run waited for a slot' },
  ]);

  const order: string[] = [];
  let current = { handle: holder, route: 'chat', tenant: 'h' };
  for (const [next, route, tenant, name] of [
    [s1, 'chat', 'e', 's1'],
    [core, 'core', 'c', 'core'],
    [s2, 'chat', 'b', 's2'],
    [s3, 'chat', 'a', 's3'],
  ] as const) {
    await resolve(current.handle, current.route, current.tenant);
    await current.handle.result();
    await waitFor(`${name} to be admitted`, () => harness.stateOf(next, 'mitigated'));
    order.push(name);
    current = { handle: next, route, tenant };
  }
  expect(order).toEqual(['s1', 'core', 's2', 's3']);
  expect(harness.changesFor('chat', 'd')).toHaveLength(0);
  const waitlist = await harness.env.client.workflow.getHandle(waitlistWorkflowId('one-run')).query(waitlistQuery);
  expect(waitlist.waiters).toEqual([]);
  recordHistoryIfAsked(harness.env.address, s3, 'limits-waited');
  recordHistoryIfAsked(
    harness.env.address,
    harness.env.client.workflow.getHandle(waitlistWorkflowId('one-run')),
    'admission-waitlist',
  );

  // An operator's abort ends a waiting run too.
  const aborted = await fire('aborted', 'S3', 'chat', 'f');
  await waitFor('it to wait', () => waitingAt(aborted, 1));
  await aborted.executeUpdate(abortUpdate, { args: [{ by: 'oncall', reason: 'not now' }] });
  expect((await aborted.result()).skipped[0]?.reason).toBe(
    'not run: aborted by oncall: not now while the run waited for a slot',
  );
  await resolve(s3, 'chat', 'a');
  await s3.result();
  expect(await slotsHeld('one-run', 3)).toEqual([]);
});

test('beyond maxActionsPerTargetPerHour a step is refused and recorded, across runs on the same target', async () => {
  const firing = alert({ route: 'chat', tenant: 'flappy' });
  const handle = await harness.fire(
    playbook('actions', [cap('first', 16384), cap('second', 8192), cap('third', 4096)]),
    firing,
    { taskQueue: 'two-actions' },
  );
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const { applied, skipped } = await status(handle);
  expect(applied.map((a) => a.stepId)).toEqual(['first', 'second']);
  expect(skipped).toEqual([
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
  expect((await status(again)).skipped[0]?.reason).toMatch(/^refused: route=chat,tenant=flappy already took 2 actions/);
  expect(harness.changesFor('chat', 'flappy').filter((c) => c.idempotencyKey?.endsWith('/apply'))).toHaveLength(2);
  await again.terminate('test done');
});

test('a run’s first change goes with its admission: the target’s shard reserves it with the slot, then the change', async () => {
  const handle = await harness.fire(
    playbook('first-change', [cap('cap', 2048)]),
    alert({ route: 'chat', tenant: 'fc' }),
    {
      taskQueue: 'two-actions',
    },
  );
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const events = (await handle.fetchHistory()).events ?? [];
  const firstApply = events.findIndex(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'gateway.setRoutePolicy',
  );
  const questions = events.slice(0, firstApply).flatMap((event, index) => {
    const signal = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
    if (!signal) return [];
    const data = signal.input?.payloads?.[0]?.data;
    const task = events.slice(0, index).filter((e) => e.workflowTaskCompletedEventAttributes).length;
    return [
      { name: signal.signalName, task, request: JSON.parse(Buffer.from(data!).toString()) as Record<string, unknown> },
    ];
  });
  // The admission request carries the change's part at the target's shard: the target's hourly budget.
  expect(questions[0]).toMatchObject({
    name: 'admit',
    request: { reserve: { target: { key: 'route=chat,tenant=fc', max: 2 } } },
  });
  // Parts at other shards (objects that hash elsewhere) follow together, in one task: two rounds at most.
  expect(questions.slice(1).every(({ name }) => name === 'reserve')).toBe(true);
  expect(new Set(questions.map(({ task }) => task)).size).toBeLessThanOrEqual(2);
  // The policy's answer, asked with the admission, is the change's record; the shards hold the change.
  expect((await status(handle)).applied[0]?.policy).toMatchObject({ source: 'builtin' });
  expect(await reservedBy('two-actions', 4, handle.workflowId)).toContain(
    `${handle.workflowId}/${(await handle.describe()).runId}/cap/apply`,
  );
  await resolve(handle, 'chat', 'fc');
  expect((await handle.result()).state).toBe('rolled-back');
  recordHistoryIfAsked(harness.env.address, handle, 'limits-first-change');
});
