// The playbook language on a real Temporal dev server: conditions and facts, notifications,
// approvals, abort, escalation, dry runs and the guardrails no playbook can get around.
import type { WorkflowUpdateFailedError } from '@temporalio/client';
import {
  abortUpdate,
  alertNotificationSignal,
  decideUpdate,
  statusQuery,
  type Decision,
} from '../../workflows/playbook-run/definitions';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { alert, resolved } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

let harness: Harness;
beforeAll(async () => (harness = await startHarness()));
afterAll(() => harness?.close());

const playbook = (name: string, steps: string, extra = '') => `
name: ${name}
description: ${name}
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
${extra}
steps:
${steps}`;

const policy = (route: string, tenant?: string) =>
  harness.simulator.store.get(tenant ? { route, tenant } : { route }).policy;

test('checks gather facts, `when` conditions use them and the labels, and skipped steps say why', async () => {
  const yaml = playbook(
    'facts',
    `
  - id: current
    check: gateway.getRoutePolicy
  - id: cap-if-large
    when: { facts: [{ fact: current.maxInputTokens, above: 16384 }] }
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 16384 } }
  - id: cache-if-standard
    when: { facts: [{ fact: current.cacheMode, equals: aggressive }] }
    action: gateway.setRoutePolicy
    params: { policy: { cacheMode: aggressive } }
  - id: only-for-globex
    when: { labels: ['tenant="globex"'] }
    action: gateway.setRoutePolicy
    params: { policy: { promptCompression: true } }
  - id: only-s1
    when: { severity: S1 }
    action: gateway.setRoutePolicy
    params: { policy: { priority: 1 } }
  - id: tell-finops
    notify: { to: [finops, product], message: 'Capped context on {{ labels.route }} for {{ labels.tenant }}' }`,
  );
  const firing = alert({ route: 'chat', tenant: 'acme' });
  const handle = await harness.fire(yaml, firing);
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));

  const status = await handle.query(statusQuery);
  expect(status.facts.current).toMatchObject({ maxInputTokens: 32_768, cacheMode: 'standard' });
  expect(status.applied.map((a) => a.stepId)).toEqual(['cap-if-large']);
  expect(status.skipped).toEqual([
    { stepId: 'cache-if-standard', reason: 'current.cacheMode is "standard", not "aggressive"' },
    { stepId: 'only-for-globex', reason: 'the alert does not match tenant="globex"' },
    { stepId: 'only-s1', reason: 'the run is S2; the step needs S1 or more severe' },
  ]);
  expect(policy('chat', 'acme')).toEqual({ maxInputTokens: 16_384 });
  expect(harness.notifierLog).toContainEqual(
    expect.objectContaining({
      msg: 'notify finops, product: Capped context on chat for acme',
      run: expect.objectContaining({ playbook: 'facts', target: 'route=chat,tenant=acme' }) as unknown,
    }),
  );

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(policy('chat', 'acme')).toEqual({});
});

describe('approvals', () => {
  const gated = (name: string, approval: string) =>
    playbook(
      name,
      `
  - id: cap
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 8192 } }
  - id: approve-tier
    approval: ${approval}
  - id: tier-down
    action: gateway.setRoutePolicy
    params: { policy: { modelTier: distilled } }`,
    );

  test('an approval lets the later steps run; bad or late decisions, and the starter approving, are refused and recorded', async () => {
    // Started by hand (the annotation the runs API sets): its starter may not approve it.
    const firing = alert(
      { route: 'chat', tenant: 'initech' },
      { annotations: { summary: 'tokens tripled', startedBy: 'U0STARTER' } },
    );
    const handle = await harness.fire(
      gated('approve', "{ summary: 'Tier {{ labels.tenant }} down to the distilled model', timeout: 1h }"),
      firing,
    );
    await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
    const waiting = await handle.query(statusQuery);
    expect(waiting.pendingApproval).toMatchObject({
      stepId: 'approve-tier',
      summary: 'Tier initech down to the distilled model',
    });
    expect(policy('chat', 'initech')).toEqual({ maxInputTokens: 8192 });

    const refusal = async (decision: Decision) => {
      const answer = await handle.executeUpdate(decideUpdate, { args: [decision] });
      return answer.accepted ? 'accepted' : answer.refusal;
    };
    expect(await refusal({ stepId: 'cap', approve: true, by: 'U1' })).toBe('step cap is not waiting for approval');
    expect(await refusal({ stepId: 'approve-tier', approve: true, by: 'U0STARTER' })).toBe(
      'U0STARTER started this run and cannot approve its steps; ask someone else',
    );
    // Only a decision without an identity is refused before the run sees it.
    const anonymous = await handle
      .executeUpdate(decideUpdate, { args: [{ stepId: 'approve-tier', approve: true, by: '' }] })
      .catch((error: unknown) => error);
    expect(((anonymous as WorkflowUpdateFailedError).cause as Error).message).toBe(
      'a decision needs the identity of who decides',
    );

    const decision = await handle.executeUpdate(decideUpdate, {
      args: [{ stepId: 'approve-tier', approve: true, by: 'U0FINOPS', reason: 'burn rate confirmed', via: 'api' }],
    });
    expect(decision).toMatchObject({
      accepted: true,
      approvalsStillNeeded: 0,
      decision: { stepId: 'approve-tier', approve: true, by: 'U0FINOPS' },
    });
    expect(await refusal({ stepId: 'approve-tier', approve: false, by: 'U2' })).toBe(
      'step approve-tier was already decided',
    );

    await waitFor('the approved step', () => policy('chat', 'initech').modelTier === 'distilled');
    const status = await handle.query(statusQuery);
    expect(status.decisions).toEqual([
      expect.objectContaining({
        stepId: 'approve-tier',
        approve: true,
        by: 'U0FINOPS',
        reason: 'burn rate confirmed',
        via: 'api',
      }),
    ]);
    // Every refused attempt is in the run, with who, when and why.
    expect(status.refusedDecisions.map(({ stepId, by, refusal: why }) => [stepId, by, why])).toEqual([
      ['cap', 'U1', 'step cap is not waiting for approval'],
      ['approve-tier', 'U0STARTER', 'U0STARTER started this run and cannot approve its steps; ask someone else'],
      ['approve-tier', 'U2', 'step approve-tier was already decided'],
    ]);
    // The approval was asked for and its outcome recorded (in the log, without Slack).
    expect(harness.notifierLog).toContainEqual(
      expect.objectContaining({
        approval: expect.objectContaining({ stepId: 'approve-tier', approvalsNeeded: 1 }) as unknown,
      }),
    );
    expect(harness.notifierLog).toContainEqual(
      expect.objectContaining({
        approval: expect.objectContaining({ stepId: 'approve-tier', outcome: 'approved' }) as unknown,
      }),
    );

    await handle.signal(alertNotificationSignal, notification(resolved(firing)));
    expect((await handle.result()).state).toBe('rolled-back');
    expect(policy('chat', 'initech')).toEqual({});
    recordHistoryIfAsked(harness.env.address, handle, 'playbook-run-approved');
  });

  test('a rejection stops the later steps and keeps what was applied until the alert resolves', async () => {
    const firing = alert({ route: 'chat', tenant: 'hooli' });
    const handle = await harness.fire(gated('reject-stop', "{ summary: 'Tier down?', timeout: 1h }"), firing);
    await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
    await handle.executeUpdate(decideUpdate, {
      args: [{ stepId: 'approve-tier', approve: false, by: 'U0SRE', reason: 'launch day' }],
    });
    await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));

    const status = await handle.query(statusQuery);
    expect(status.skipped).toEqual([
      { stepId: 'approve-tier', reason: 'approve-tier rejected by U0SRE (launch day)' },
      { stepId: 'tier-down', reason: 'not run: approve-tier rejected by U0SRE (launch day)' },
    ]);
    expect(policy('chat', 'hooli')).toEqual({ maxInputTokens: 8192 });
    await handle.signal(alertNotificationSignal, notification(resolved(firing)));
    expect((await handle.result()).state).toBe('rolled-back');
  });

  test('no decision in time: the declared outcome applies (reject, then roll back at once)', async () => {
    const firing = alert({ route: 'chat', tenant: 'wonka' });
    const handle = await harness.fire(
      gated('timeout-rollback', '{ summary: Tier down?, timeout: 300ms, onTimeout: reject, onReject: rollback }'),
      firing,
    );
    await waitFor('the rollback', () => harness.stateOf(handle, 'rolled-back'));
    const status = await handle.query(statusQuery);
    expect(status.decisions).toEqual([
      expect.objectContaining({
        stepId: 'approve-tier',
        approve: false,
        by: 'timeout',
        reason: 'no decision within 0.3s',
      }),
    ]);
    expect(status.rollbackReason).toBe('approve-tier rejected by timeout (no decision within 0.3s)');
    expect(policy('chat', 'wonka')).toEqual({});
    // Nothing left to undo: the run ends once the alert resolves, without a cooldown.
    await handle.signal(alertNotificationSignal, notification(resolved(firing)));
    expect((await handle.result()).state).toBe('rolled-back');
  });
  test('the alert resolving while a decision is pending ends the wait; the gated steps never run', async () => {
    const firing = alert({ route: 'chat', tenant: 'duff' });
    const handle = await harness.fire(
      gated('resolved-while-pending', '{ summary: Tier down?, timeout: 1h, onTimeout: approve }'),
      firing,
    );
    await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
    await handle.signal(alertNotificationSignal, notification(resolved(firing)));
    const summary = await handle.result();
    expect(summary.state).toBe('rolled-back');
    expect(summary.decisions).toEqual([]);
    expect(summary.skipped).toEqual([
      { stepId: 'approve-tier', reason: 'approve-tier: the alert resolved before anyone decided' },
      { stepId: 'tier-down', reason: 'not run: approve-tier: the alert resolved before anyone decided' },
    ]);
    expect(harness.changesFor('chat', 'duff').map((c) => c.patch)).toEqual([
      { maxInputTokens: 8192 },
      { maxInputTokens: null },
    ]);
  });
});

test('an operator abort rolls everything back and ends the run; a second abort is refused', async () => {
  const firing = alert({ route: 'chat', tenant: 'soylent' });
  const handle = await harness.fire(
    playbook('abort', '  - { id: cap, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: 8192 } } }'),
    firing,
  );
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));

  expect(await handle.executeUpdate(abortUpdate, { args: [{ by: 'U0SRE', reason: 'false positive' }] })).toBe(
    'rolling back 1 change(s)',
  );
  const summary = await handle.result();
  expect(summary).toMatchObject({ state: 'rolled-back', rollbackReason: 'aborted by U0SRE: false positive' });
  expect(policy('chat', 'soylent')).toEqual({});
  await expect(handle.executeUpdate(abortUpdate, { args: [{ by: 'U0SRE', reason: 'again' }] })).rejects.toThrow();
  recordHistoryIfAsked(harness.env.address, handle, 'playbook-run-aborted');
});

test('still firing after the escalation delay: the S1 steps of the same family run in the same run', async () => {
  const s2 = playbook(
    'cost-s2-test',
    '  - { id: cap, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: 8192 } } }',
    'family: cost\nescalation: { after: 500ms, to: cost-s1-test }',
  );
  const s1 = playbook(
    'cost-s1-test',
    '  - { id: throttle, action: gateway.setRoutePolicy, params: { policy: { rateLimitRps: 5 } } }',
    'family: cost',
  ).replace('severity: S2', 'severity: S1');
  const firing = alert({ route: 'chat', tenant: 'tyrell' });
  const handle = await harness.fire([s2, s1], firing);

  // The gateway has the S1 change before the run records it: wait for the run, then look at the gateway.
  const status = await waitFor('the escalation, in the run', async () => {
    const current = await handle.query(statusQuery);
    return current.applied.some((a) => a.stepId === 'cost-s1-test/throttle') ? current : undefined;
  });
  expect(policy('chat', 'tyrell').rateLimitRps).toBe(5);
  expect(status.severity).toBe('S1');
  expect(status.escalation).toMatchObject({
    to: 'cost-s1-test',
    reason: 'still firing 0.5s after the steps of cost-s2-test',
  });
  expect(status.applied.map((a) => a.stepId)).toEqual(['cap', 'cost-s1-test/throttle']);
  expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.severity)).toBe('S1');

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(policy('chat', 'tyrell')).toEqual({});
  expect(harness.changesFor('chat', 'tyrell').map((c) => c.patch)).toEqual([
    { maxInputTokens: 8192 },
    { rateLimitRps: 5 },
    { rateLimitRps: null },
    { maxInputTokens: null },
  ]);
  recordHistoryIfAsked(harness.env.address, handle, 'playbook-run-escalated');
});

test('resolved before the escalation delay: no escalation', async () => {
  const s2 = playbook(
    'cost-s2-calm',
    '  - { id: cap, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: 8192 } } }',
    'family: cost\nescalation: { after: 1h, to: cost-s1-calm }',
  );
  const s1 = playbook(
    'cost-s1-calm',
    '  - { id: throttle, action: gateway.setRoutePolicy, params: { policy: { rateLimitRps: 5 } } }',
    'family: cost',
  ).replace('severity: S2', 'severity: S1');
  const firing = alert({ route: 'chat', tenant: 'oscorp' });
  const handle = await harness.fire([s2, s1], firing);
  await waitFor(
    'the escalation deadline',
    async () => (await handle.query(statusQuery)).nextDeadline !== null || undefined,
  );
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  expect(summary.escalation).toBeNull();
  expect(summary.applied.map((a) => a.stepId)).toEqual(['cap']);
});

test('a dry run records what it would change and changes nothing', async () => {
  const firing = alert({ route: 'chat', tenant: 'vandelay' });
  const handle = await harness.fire(
    playbook(
      'dry',
      '  - { id: cap, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: 8192 } } }',
      'dryRun: true',
    ),
    firing,
  );
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const status = await handle.query(statusQuery);
  expect(status.dryRun).toBe(true);
  expect(status.applied).toEqual([
    expect.objectContaining({
      stepId: 'cap',
      dryRun: true,
      summary: 'would set route chat (tenant vandelay): maxInputTokens unset → 8192',
    }),
  ]);
  expect(harness.changesFor('chat', 'vandelay')).toHaveLength(0);
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(harness.changesFor('chat', 'vandelay')).toHaveLength(0);
});

test('the global dry-run setting applies to every playbook', async () => {
  const firing = alert({ route: 'chat', tenant: 'prestige' });
  const handle = await harness.fire(
    playbook(
      'dry-global',
      '  - { id: cap, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: 8192 } } }',
    ),
    firing,
    { dryRun: true },
  );
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  expect((await handle.query(statusQuery)).applied[0]?.summary).toMatch(/^would set /);
  expect(harness.changesFor('chat', 'prestige')).toHaveLength(0);
  await handle.terminate('test done');
});

describe('guardrails', () => {
  test('a protected route is never throttled, tiered or circuit-broken; the refusal is recorded and the run goes on', async () => {
    const yaml = playbook(
      'protected',
      `
  - { id: throttle, action: gateway.setRoutePolicy, params: { policy: { rateLimitRps: 1 } } }
  - { id: tier-down, action: gateway.setRoutePolicy, params: { policy: { modelTier: distilled } } }
  - { id: break, action: gateway.setRoutePolicy, params: { policy: { circuit: { state: open, failMode: open } } } }
  - { id: cache, action: gateway.setRoutePolicy, params: { policy: { cacheMode: aggressive } } }`,
    );
    const firing = alert({ route: 'fraud', tenant: 'bank' });
    const handle = await harness.fire(yaml, firing);
    await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
    const status = await handle.query(statusQuery);
    expect(status.skipped.map((s) => [s.stepId, s.reason])).toEqual([
      [
        'throttle',
        'refused: route fraud is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so rateLimitRps stays as it is',
      ],
      [
        'tier-down',
        'refused: route fraud is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so modelTier stays as it is',
      ],
      [
        'break',
        'refused: route fraud is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so circuit stays as it is',
      ],
    ]);
    expect(harness.changesFor('fraud', 'bank').map((c) => c.patch)).toEqual([{ cacheMode: 'aggressive' }]);
    await handle.signal(alertNotificationSignal, notification(resolved(firing)));
    expect((await handle.result()).state).toBe('rolled-back');
  });

  test.each([
    ['summarize', 'closed'],
    ['chat', 'open'],
  ])('breaking the circuit of %s fails %s, whatever the playbook asked', async (route, failMode) => {
    const yaml = playbook(
      'break-' + route,
      '  - { id: break, action: gateway.setRoutePolicy, params: { policy: { circuit: { state: open, failMode: closed } } } }',
    );
    const firing = alert({ route, tenant: 'acme-breaker' });
    const handle = await harness.fire(
      yaml.replace('failMode: closed', `failMode: ${failMode === 'open' ? 'closed' : 'open'}`),
      firing,
    );
    await waitFor('the breaker', () => policy(route, 'acme-breaker').circuit?.state === 'open');
    expect(policy(route, 'acme-breaker').circuit).toEqual({ state: 'open', failMode });
    await handle.signal(alertNotificationSignal, notification(resolved(firing)));
    expect((await handle.result()).state).toBe('rolled-back');
    expect(policy(route, 'acme-breaker')).toEqual({});
  });
});

test('repeated notifications never grow one history without bound: the run continues as new with its changes, and still rolls them back', async () => {
  const firing = alert({ route: 'chat', tenant: 'massive-dynamic' });
  const handle = await harness.fire(
    playbook(
      'long-incident',
      '  - { id: cap, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: 8192 } } }',
    ),
    firing,
    { historyLimit: 60 },
  );
  await waitFor('the run to mitigate', () => harness.stateOf(handle, 'mitigated'));
  const firstRunId = (await handle.describe()).runId;

  for (let i = 0; i < 60; i++) await handle.signal(alertNotificationSignal, notification(firing));
  await waitFor('a fresh history', async () => (await handle.describe()).runId !== firstRunId || undefined);
  const status = await waitFor('the carried state', async () => {
    const current = await handle.query(statusQuery);
    return current.state === 'mitigated' ? current : undefined;
  });
  expect(status.applied.map((a) => a.stepId)).toEqual(['cap']);
  expect(status.notifications.received).toBeGreaterThanOrEqual(40);
  expect(harness.changesFor('chat', 'massive-dynamic')).toHaveLength(1);

  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  // The handle follows the chain of runs to the last one's result.
  expect((await handle.result()).state).toBe('rolled-back');
  expect(harness.changesFor('chat', 'massive-dynamic').map((c) => c.patch)).toEqual([
    { maxInputTokens: 8192 },
    { maxInputTokens: null },
  ]);
});
