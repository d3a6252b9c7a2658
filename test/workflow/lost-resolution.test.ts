// A run whose alert stops repeating asks Alertmanager (plan.staleAfterMs after the last notification).
// Here Alertmanager cannot be reached: the changes stay in force, the playbook's people are told once
// (not at every try), the run keeps asking, and a resolution that does come still rolls back. The
// case where Alertmanager answers is in test/e2e/alertmanager.test.ts, against the real one.
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const CAP_AND_TELL = `
name: cap-and-tell
description: Cap the context length and tell FinOps.
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 8192 } }
  - id: tell
    notify: { to: [finops], message: "capped {{ labels.tenant }}" }
`;
const QUEUE = 'alertmanager-down';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
  // Nothing listens on port 1: Alertmanager is down.
  await harness.startWorker(QUEUE, { alertmanagerUrls: ['http://127.0.0.1:1'] });
});
afterAll(() => harness?.close());

test('Alertmanager unreachable: the change stays, FinOps is told once, the run asks again, and a resolution still rolls back', async () => {
  const firing = alert({ route: 'chat', tenant: 'wayne', model: 'llama-3-70b' });
  const handle = await harness.fire(CAP_AND_TELL, firing, { taskQueue: QUEUE, staleAfterMs: 1_000 });
  const first = await waitFor('the first unanswered question', async () => {
    const { staleness } = await handle.query(statusQuery);
    return staleness?.includes('Alertmanager could not be asked') ? staleness : undefined;
  });
  expect(first).toMatch(
    /^no notification for \d+(\.\d+)?s; Alertmanager could not be asked \(Alertmanager could not be asked: http:\/\/127\.0\.0\.1:1: .+\): the changes stay, asking again at \S+$/,
  );
  // A later question, also unanswered: its own time in the status.
  await waitFor('a second unanswered question', async () => {
    const { staleness } = await handle.query(statusQuery);
    return staleness !== first && staleness?.includes('could not be asked');
  });
  const status = await handle.query(statusQuery);
  expect(status.state).toBe('mitigated');
  expect(status.applied).toEqual([expect.objectContaining({ stepId: 'cap-context', undoneAt: null })]);
  expect(harness.simulator.store.get({ route: 'chat', tenant: 'wayne' }).policy.maxInputTokens).toBe(8192);
  const told = harness.notifierLog
    .map((line) => line.notification as { to: string[]; message: string } | undefined)
    .filter((sent) => sent?.message.includes('Alertmanager could not be asked'));
  expect(told).toEqual([
    {
      to: ['finops'],
      message: expect.stringMatching(
        /^cap-and-tell on route=chat,tenant=wayne: no notification for .+: the changes stay/,
      ) as unknown,
    },
  ]);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect(await handle.result()).toMatchObject({
    state: 'rolled-back',
    rollbackReason: 'alert resolved and stayed resolved for the 0.5s cooldown',
  });
  expect(harness.simulator.store.get({ route: 'chat', tenant: 'wayne' }).policy).toEqual({});
  recordHistoryIfAsked(harness.env.address, handle, 'lost-resolution-unreachable');
});

test('carried across continue-as-new, the check keeps its schedule and does not tell people again', async () => {
  const firing = alert({ route: 'chat', tenant: 'kent', model: 'llama-3-70b' });
  // Each question adds events: a small history limit makes the run continue as new between questions.
  const handle = await harness.fire(CAP_AND_TELL, firing, { taskQueue: QUEUE, staleAfterMs: 1_000, historyLimit: 40 });
  const firstRunId = await waitFor('the first unanswered question', async () => {
    const { staleness } = await handle.query(statusQuery);
    return staleness?.includes('could not be asked') ? (await handle.describe()).runId : undefined;
  });
  const carried = await waitFor('a continued run', async () => {
    const { runId } = await handle.describe();
    return runId !== firstRunId ? (await handle.query(statusQuery)).staleness : undefined;
  });
  // The status came along; a question of the continued run's own says something new.
  await waitFor('a question asked by the continued run', async () => {
    const { staleness } = await handle.query(statusQuery);
    return staleness !== carried && staleness?.includes('could not be asked') ? true : undefined;
  });
  const told = harness.notifierLog.filter((line) =>
    (line.notification as { message?: string } | undefined)?.message?.startsWith(
      'cap-and-tell on route=chat,tenant=kent',
    ),
  );
  expect(told).toHaveLength(1);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
});
