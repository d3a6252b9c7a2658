// Runs asking OPA before each change, on a real Temporal dev server with the real OPA serving
// policies/: the decision id goes into the run and is in OPA's decision log; a change OPA refuses
// is skipped with its reason; an S1 change OPA cannot answer for does not run (fail closed).
import { alertNotificationSignal, statusQuery } from '../../workflows/definitions';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { startPolicyServer, type RunningOpa } from '../helpers/opa';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const WITH_OPA = 'policy-with-opa';
const OPA_DOWN = 'policy-opa-down';
let harness: Harness;
let opa: RunningOpa;

beforeAll(async () => {
  harness = await startHarness();
  opa = await startPolicyServer();
  await harness.startWorker(WITH_OPA, { opaUrl: opa.url });
  await harness.startWorker(OPA_DOWN, { opaUrl: `http://127.0.0.1:${await freePort()}` });
});
afterAll(async () => {
  await harness?.close();
  opa?.close();
});

const playbook = (severity: 'S1' | 'S2', route: string) => `
name: policed-${severity.toLowerCase()}
description: cap the context, then tier down
severity: ${severity}
match: [alertname="LLMSpendBurnRateHigh"]
target: route
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 4096 } }
  - id: tier-protected
    action: gateway.setRoutePolicy
    params: { route: ${route}, policy: { modelTier: distilled } }
`;

test("OPA's decision id is recorded with each change it allowed, and a change it refuses is skipped with its reason and id", async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat', tenant: 'acme' });
  const handle = await harness.fire(playbook('S2', 'fraud'), firing, { taskQueue: WITH_OPA, cooldownMs: 300 });
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied).toHaveLength(1);
  const { policy } = status.applied[0]!;
  expect(policy?.source).toBe('opa');
  expect(policy?.decisionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(opa.output.some((line) => line.includes(policy!.decisionId!))).toBe(true);
  expect(status.skipped.map(({ stepId }) => stepId)).toEqual(['tier-protected']);
  expect(status.skipped[0]!.reason).toMatch(/^refused: .*route fraud is protected.*\(OPA decision [0-9a-f-]{36}\)$/);
  expect(harness.simulator.store.get({ route: 'fraud', tenant: 'acme' }).policy.modelTier).toBeUndefined();

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  recordHistoryIfAsked(harness.env.address, handle, 'policy-opa');
});

test('an S1 change OPA cannot answer for does not run', async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S1', route: 'chat', tenant: 'globex' });
  const handle = await harness.fire(playbook('S1', 'search'), firing, { taskQueue: OPA_DOWN, cooldownMs: 300 });
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied).toEqual([]);
  expect(status.skipped.map(({ stepId }) => stepId)).toEqual(['cap-context', 'tier-protected']);
  expect(status.skipped[0]!.reason).toMatch(/^refused: OPA could not answer \(.*\), and an S1 change fails closed: gateway\.setRoutePolicy on route=chat,tenant=globex does not run$/);
  expect(harness.changesFor('chat', 'globex')).toEqual([]);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
});

test('an S2 change OPA cannot answer for is decided by the built-in rules, which say so', async () => {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat', tenant: 'initech' });
  const handle = await harness.fire(playbook('S2', 'fraud'), firing, { taskQueue: OPA_DOWN, cooldownMs: 300 });
  await waitFor('the run mitigated', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.applied.map(({ stepId, policy }) => [stepId, policy?.source])).toEqual([['cap-context', 'builtin']]);
  expect(status.applied[0]!.policy!.reason).toMatch(/OPA could not answer/);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
});
