// The playbook workflow on a real Temporal dev server, acting on the real gateway simulator over HTTP.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { alertNotificationSignal, statusQuery, type RunState } from '../../workflows/playbook-run/definitions';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { freePort } from '../helpers/ports';
import { gatewayClient, startSimulator } from '../helpers/simulator';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const CAP_CONTEXT = `
name: cap-context
description: Cap the context length of the alerting tenant.
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 8192 } }
`;

// The second step asks the gateway for something it refuses (a route's cache mode cannot be unset).
const FAILS_AT_SECOND_STEP = `
name: fails-late
description: Two steps, the second of which the gateway rejects.
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 4096 } }
  - id: unset-cache
    action: gateway.setRoutePolicy
    params: { policy: { cacheMode: null } }
`;

let harness: Harness;
beforeAll(async () => (harness = await startHarness()));
afterAll(() => harness?.close());

const fire = (...args: Parameters<Harness['fire']>) => harness.fire(...args);
const stateOf = (handle: WorkflowHandle, state: RunState) => harness.stateOf(handle, state);
const changesFor = (route: string, tenant: string | null) => harness.changesFor(route, tenant);

test('applies the step once, keeps it while firing, and rolls it back after the alert stays resolved for the cooldown', async () => {
  const firing = alert({ route: 'chat', tenant: 'acme', model: 'llama-3-70b' });
  const handle = await fire(CAP_CONTEXT, firing);
  await waitFor('the run to mitigate', () => stateOf(handle, 'mitigated'));
  expect(harness.simulator.store.get({ route: 'chat', tenant: 'acme' }).effective.maxInputTokens).toBe(8192);

  // Alertmanager repeats the whole group every group_interval: nothing is applied again.
  for (let i = 0; i < 3; i++) await handle.signal(alertNotificationSignal, notification(firing));
  const status = await handle.query(statusQuery);
  expect(status.notifications).toEqual({ received: 4, repeated: 4, stale: 0 });
  expect(status.applied).toEqual([
    expect.objectContaining({
      stepId: 'cap-context',
      summary: 'route chat (tenant acme): maxInputTokens unset → 8192',
      previous: { maxInputTokens: null },
      undoneAt: null,
    }),
  ]);
  expect(changesFor('chat', 'acme')).toHaveLength(1);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();

  expect(summary.state).toBe('rolled-back');
  expect(summary.rollbackReason).toMatch(/alert resolved and stayed resolved/);
  expect(summary.applied[0]?.undoneAt).not.toBeNull();
  expect(harness.simulator.store.get({ route: 'chat', tenant: 'acme' }).policy).toEqual({});
  expect(changesFor('chat', 'acme').map((c) => c.patch)).toEqual([{ maxInputTokens: 8192 }, { maxInputTokens: null }]);

  const description = await handle.describe();
  expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.playbook)).toBe('cap-context');
  expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.target)).toBe('route=chat,tenant=acme');
  expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.tenant)).toBe('acme');
  expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.model)).toBe('llama-3-70b');
  expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.state)).toBe('rolled-back');
  expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.digest)).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(description.memo).toMatchObject({ summary: 'cap-context (S2) on route=chat,tenant=acme: rolled-back' });
  recordHistoryIfAsked(harness.env.address, handle, 'playbook-run-resolved');
});

test('a re-fire during the cooldown cancels the rollback; an operator cancel then rolls back', async () => {
  const firing = alert({ route: 'chat', tenant: 'initech' });
  const handle = await fire(CAP_CONTEXT, firing, { cooldownMs: 3_600_000 });
  await waitFor('the run to mitigate', () => stateOf(handle, 'mitigated'));

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  await waitFor('the cooldown', () => stateOf(handle, 'cooldown'));
  expect((await handle.query(statusQuery)).nextDeadline).not.toBeNull();

  // The alert comes back: a new episode with a later startsAt.
  await handle.signal(alertNotificationSignal, notification({ ...firing, startsAt: '2026-11-28T11:00:00Z' }));
  await waitFor('the run to keep its changes', () => stateOf(handle, 'mitigated'));
  // A late copy of the old resolution (an HA peer) is recognised as stale and changes nothing.
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const status = await handle.query(statusQuery);
  expect(status.state).toBe('mitigated');
  expect(status.notifications.stale).toBe(1);
  expect(changesFor('chat', 'initech')).toHaveLength(1);

  await handle.cancel();
  await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
  const after = await handle.query(statusQuery);
  expect(after.rollbackReason).toBe('run cancelled by an operator');
  expect(after.state).toBe('rolled-back');
  expect(harness.simulator.store.get({ route: 'chat', tenant: 'initech' }).policy).toEqual({});
  recordHistoryIfAsked(harness.env.address, handle, 'playbook-run-refire-cancel');
});

test('a failing later step rolls back the earlier ones and fails the run with the reason', async () => {
  const before = harness.simulator.store.get({ route: 'summarize' }).policy;
  const handle = await fire(FAILS_AT_SECOND_STEP, alert({ route: 'summarize' }));

  const failure = await handle.result().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect(((failure as WorkflowFailedError).cause as Error).message).toMatch(
    /^step unset-cache \(gateway.setRoutePolicy\) failed: gateway PATCH \/v1\/routes\/summarize\/policy answered 422: .*cacheMode.*; the earlier changes were rolled back$/,
  );
  const status = await handle.query(statusQuery);
  expect(status.state).toBe('failed');
  expect(status.applied).toEqual([
    expect.objectContaining({ stepId: 'cap-context', undoError: null, undoneAt: expect.any(String) as string }),
  ]);
  expect(harness.simulator.store.get({ route: 'summarize' }).policy).toEqual(before);
  expect(changesFor('summarize', null).map((c) => c.patch)).toEqual([
    { maxInputTokens: 4096 },
    { maxInputTokens: 65_536 },
  ]);
  recordHistoryIfAsked(harness.env.address, handle, 'playbook-run-step-failed');
});

test('keeps retrying while the gateway is unreachable and applies exactly once when it comes back', async () => {
  const port = await freePort();
  await harness.startWorker('unreachable-gateway', { gateway: gatewayClient(`http://127.0.0.1:${port}`) });
  const firing = alert({ route: 'chat', tenant: 'hooli' });
  const handle = await fire(CAP_CONTEXT, firing, { taskQueue: 'unreachable-gateway' });

  await waitFor('a failed attempt', async () => {
    const { raw } = await handle.describe();
    return (raw.pendingActivities?.[0]?.attempt ?? 0) >= 2 || undefined;
  });
  const lateSimulator = await startSimulator(port);
  try {
    await waitFor('the run to mitigate', () => stateOf(handle, 'mitigated'));
    expect(lateSimulator.store.changes).toHaveLength(1);
    expect(lateSimulator.store.get({ route: 'chat', tenant: 'hooli' }).policy).toEqual({ maxInputTokens: 8192 });
    await handle.signal(alertNotificationSignal, notification(resolved(firing)));
    expect((await handle.result()).state).toBe('rolled-back');
    expect(lateSimulator.store.get({ route: 'chat', tenant: 'hooli' }).policy).toEqual({});
  } finally {
    await lateSimulator.close();
  }
});
