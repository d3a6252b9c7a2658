// The repository's own playbooks, whole life on a real Temporal dev server: fire → steps →
// approval → resolve → cooldown → every change rolled back, checked at the gateway simulator.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alertNotificationSignal, decideUpdate, statusQuery } from '../../workflows/definitions';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

let harness: Harness;
beforeAll(async () => (harness = await startHarness()));
afterAll(() => harness?.close());

const seed = (name: string) => readFileSync(join(__dirname, '..', '..', 'playbooks', `${name}.yaml`), 'utf8');
const policy = (route: string, tenant: string) => harness.simulator.store.get({ route, tenant }).policy;

test('cost-s2: cheaper requests at once, the distilled model once approved, all undone after the cooldown', async () => {
  const firing = alert({ route: 'chat', tenant: 'acme', alertname: 'LLMSpendBurnRateHigh', severity: 'S2' });
  const handle = await harness.fire([seed('cost-s2'), seed('cost-s1')], firing, { cooldownOverrideMs: 300 });
  await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
  expect(policy('chat', 'acme')).toEqual({ maxInputTokens: 8192, cacheMode: 'aggressive', promptCompression: true });
  expect(harness.notifierLog).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^notify finops, product: LLMSpendBurnRateHigh on chat for acme: context capped at 8k/) as unknown }));

  await handle.executeUpdate(decideUpdate, { args: [{ stepId: 'approve-distilled', approve: true, by: 'U0FINOPS' }] });
  await waitFor('the distilled tier', () => policy('chat', 'acme').modelTier === 'distilled');
  const status = await handle.query(statusQuery);
  expect(status.applied.map((a) => a.stepId)).toEqual(['cap-context', 'aggressive-cache', 'compress-prompts', 'tier-distilled']);
  expect(status.nextDeadline).not.toBeNull(); // the escalation to cost-s1, 30 minutes out

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  expect(summary.state).toBe('rolled-back');
  expect(summary.escalation).toBeNull();
  expect(policy('chat', 'acme')).toEqual({});
  recordHistoryIfAsked(harness.env.address, handle, 'cost-s2');
});

test('cost-s1: the cost cut at once; a rejected throttle is never applied; all undone after the cooldown', async () => {
  const firing = alert({ route: 'chat', tenant: 'globex', alertname: 'LLMSpendBurnRateHigh', severity: 'S1' });
  const handle = await harness.fire(seed('cost-s1'), firing, { cooldownOverrideMs: 300 });
  await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
  expect(policy('chat', 'globex')).toEqual({ maxInputTokens: 4096, cacheMode: 'aggressive', promptCompression: true, modelTier: 'distilled' });

  await handle.executeUpdate(decideUpdate, { args: [{ stepId: 'approve-throttle', approve: false, by: 'U0PRODUCT', reason: 'enterprise launch' }] });
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  expect(policy('chat', 'globex').rateLimitRps).toBeUndefined();
  expect((await handle.query(statusQuery)).skipped.map((s) => s.stepId)).toEqual(['approve-throttle', 'throttle']);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(policy('chat', 'globex')).toEqual({});
  recordHistoryIfAsked(harness.env.address, handle, 'cost-s1');
});
