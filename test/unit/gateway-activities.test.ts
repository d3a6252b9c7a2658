// The gateway activities in Temporal's activity context (MockActivityEnvironment), against the real
// simulator on 127.0.0.1: what they change, the undo that restores it exactly, dry runs,
// idempotency keys, guardrails, and failures classified at the boundary.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type {
  ActionActivity,
  ActionOutcome,
  ActionRequest,
  CheckActivity,
  CheckRequest,
  Facts,
} from '../../activities/action-contract';
import { createGatewayActivities, type GatewayActivities } from '../../gateway/gateway-activities';
import { targetOf, type Target, type TargetKindName } from '../../alerts/target';
import type { ActionName } from '../../playbook/step-registry';
import { REFUSED_BY_GUARDRAILS } from '../../policy/guardrails';
import { TEST_GUARDRAILS } from '../helpers/activities';
import { startSimulator, type RunningSimulator } from '../helpers/simulator';

let simulator: RunningSimulator;
let activities: GatewayActivities;
beforeEach(async () => {
  simulator = await startSimulator();
  activities = createGatewayActivities(simulator.client, TEST_GUARDRAILS);
});
afterEach(() => simulator.close());

const target = (kind: TargetKindName, labels: Record<string, string>): Target => {
  const result = targetOf(kind, labels);
  if (!result.ok) throw new Error(`test target lacks ${result.missing.join(', ')}`);
  return result.target;
};

const apply = (request: Partial<ActionRequest> & Pick<ActionRequest, 'target' | 'params'>): ActionRequest => ({
  idempotencyKey: 'wf/run/step/apply',
  purpose: 'apply',
  dryRun: false,
  ...request,
});

// Failures are the point of many tests here; the SDK's warning for each would only bury the results.
const logger = new DefaultLogger('ERROR');
const environment = () => new MockActivityEnvironment(undefined, { logger });
const act = (activity: ActionActivity, request: ActionRequest) =>
  environment().run<[ActionRequest], ActionOutcome, ActionActivity>(activity, request);
const check = (activity: CheckActivity, request: CheckRequest) =>
  environment().run<[CheckRequest], Facts, CheckActivity>(activity, request);

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

/** Runs the outcome's undo the way the workflow does: the named action with purpose undo. */
function undo(outcome: ActionOutcome, on: Target) {
  expect(outcome.undo).not.toBeNull();
  const { action, params } = outcome.undo!;
  return act(
    activities[action as Extract<ActionName, keyof GatewayActivities>],
    apply({ target: on, params, idempotencyKey: 'wf/run/step/undo', purpose: 'undo' }),
  );
}

describe('gateway.setTenantQuota', () => {
  const acme = target('tenant', { tenant: 'acme' });

  test('sets the quota fields, answers their previous values, and the undo restores them exactly', async () => {
    const before = simulator.store.getQuota('acme').quota;
    const outcome = await act(
      activities['gateway.setTenantQuota'],
      apply({ target: acme, params: { quota: { costPerDayUsd: 800, tokensPerDay: null } } }),
    );
    expect(outcome).toEqual({
      summary: 'quota of tenant acme: tokensPerDay 16000000000 → unlimited, costPerDayUsd 85000 → 800',
      previous: { tokensPerDay: 16_000_000_000, costPerDayUsd: 85_000 },
      undo: {
        action: 'gateway.setTenantQuota',
        params: { quota: { tokensPerDay: 16_000_000_000, costPerDayUsd: 85_000 } },
      },
    });
    expect(simulator.store.changes).toEqual([
      expect.objectContaining({ resource: 'quota', tenant: 'acme', idempotencyKey: 'wf/run/step/apply' }),
    ]);

    const undone = await undo(outcome, acme);
    expect(undone.summary).toBe(
      'quota of tenant acme: tokensPerDay unlimited → 16000000000, costPerDayUsd 800 → 85000',
    );
    expect(simulator.store.getQuota('acme').quota).toEqual(before);
  });

  test('a second apply with the same key changes nothing and answers the same previous values', async () => {
    const request = apply({ target: acme, params: { quota: { requestsPerSecond: 50 } } });
    const first = await act(activities['gateway.setTenantQuota'], request);
    const again = await act(activities['gateway.setTenantQuota'], request);
    expect(again).toEqual(first);
    expect(simulator.store.changes).toHaveLength(1);
  });

  test('after a first attempt that changed the gateway and crashed, the retry answers the true previous values', async () => {
    await simulator.client.patchTenantQuota('acme', { requestsPerSecond: 50 }, { idempotencyKey: 'wf/run/step/apply' });
    const retry = await act(
      activities['gateway.setTenantQuota'],
      apply({ target: acme, params: { quota: { requestsPerSecond: 50 } } }),
    );
    expect(retry.previous).toEqual({ requestsPerSecond: 120 });
    expect(simulator.store.changes).toHaveLength(1);
  });

  test("a route target names the tenant by its label; the undo restores that tenant's quota", async () => {
    const chatAcme = target('route', { route: 'chat', tenant: 'acme' });
    const outcome = await act(
      activities['gateway.setTenantQuota'],
      apply({ target: chatAcme, params: { quota: { costPerDayUsd: 100 } } }),
    );
    expect(outcome.summary).toBe('quota of tenant acme: costPerDayUsd 85000 → 100');
    await undo(outcome, chatAcme);
    expect(simulator.store.getQuota('acme').quota.costPerDayUsd).toBe(85_000);
  });

  test('a route target without a tenant label is a non-retryable error that says what to do', async () => {
    const failure = await failureOf(
      act(
        activities['gateway.setTenantQuota'],
        apply({ target: target('route', { route: 'chat' }), params: { quota: { costPerDayUsd: 100 } } }),
      ),
    );
    expect(failure).toMatchObject({ nonRetryable: true, type: 'InvalidTarget' });
    expect(failure.message).toBe(
      'gateway.setTenantQuota: target route=chat has no tenant label, so there is no tenant whose quota to use; give the alert a tenant label, or limit the whole route with gateway.setRoutePolicy (rateLimitRps)',
    );
    expect(simulator.store.changes).toEqual([]);
  });

  test('a dry run reads the quota, says what would change, and changes nothing', async () => {
    const outcome = await act(
      activities['gateway.setTenantQuota'],
      apply({ target: acme, params: { quota: { tokensPerDay: 1_000_000 } }, dryRun: true }),
    );
    expect(outcome).toEqual({
      summary: 'would set quota of tenant acme: tokensPerDay 16000000000 → 1000000',
      previous: { tokensPerDay: 16_000_000_000 },
      undo: null,
    });
    expect(simulator.store.changes).toEqual([]);
  });

  test('a tenant whose alert is about a protected route is refused, and nothing changes; an undo there is never refused', async () => {
    const fraudTraffic = target('route', { route: 'fraud', tenant: 'acme' });
    const failure = await failureOf(
      act(
        activities['gateway.setTenantQuota'],
        apply({ target: fraudTraffic, params: { quota: { requestsPerSecond: 10 } } }),
      ),
    );
    expect(failure).toMatchObject({ nonRetryable: true, type: REFUSED_BY_GUARDRAILS });
    expect(failure.message).toBe(
      'route fraud is protected (engine.protectedRoutes): its traffic is never quota-limited, so the quota of tenant acme, whose alert is about route fraud, stays as it is',
    );
    expect(simulator.store.changes).toEqual([]);

    await act(
      activities['gateway.setTenantQuota'],
      apply({ target: fraudTraffic, params: { quota: { requestsPerSecond: null } }, purpose: 'undo' }),
    );
    expect(simulator.store.changes).toHaveLength(1);
  });

  test('invalid params are refused before anything is called', async () => {
    const failure = await failureOf(
      act(activities['gateway.setTenantQuota'], apply({ target: acme, params: { quota: { costPerDayUsd: -5 } } })),
    );
    expect(failure).toMatchObject({ nonRetryable: true, type: 'InvalidParams' });
    expect(failure.message).toMatch(/^gateway\.setTenantQuota: invalid params: quota\.costPerDayUsd: Too small/);
  });
});

describe('gateway.setRegionWeights', () => {
  const chat = target('route', { route: 'chat' });

  test('replaces the split, answers the previous one, and the undo restores it exactly', async () => {
    const outcome = await act(
      activities['gateway.setRegionWeights'],
      apply({ target: chat, params: { weights: { 'eu-west-1': 1 } } }),
    );
    expect(outcome).toEqual({
      summary: 'region weights of route chat: us-east-1 0.6 → 0, eu-west-1 0.4 → 1',
      previous: { weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } },
      undo: { action: 'gateway.setRegionWeights', params: { weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } } },
      applied: { weights: { 'us-east-1': 0, 'eu-west-1': 1 } },
    });
    await undo(outcome, chat);
    expect(simulator.store.getRegionWeights('chat')).toEqual({
      route: 'chat',
      weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 },
      revision: 3,
    });
  });

  test('a second apply with the same key changes nothing and answers the same previous split', async () => {
    const request = apply({ target: chat, params: { weights: { 'us-east-1': 0.2, 'eu-west-1': 0.8 } } });
    const first = await act(activities['gateway.setRegionWeights'], request);
    expect(await act(activities['gateway.setRegionWeights'], request)).toEqual(first);
    expect(simulator.store.changes).toHaveLength(1);
  });

  test('a protected route may be rebalanced: moving traffic between its regions degrades nothing', async () => {
    const outcome = await act(
      activities['gateway.setRegionWeights'],
      apply({
        target: target('route', { route: 'risk', tenant: 'internal' }),
        params: { weights: { 'us-east-1': 1 } },
      }),
    );
    expect(outcome.summary).toBe('region weights of route risk: us-east-1 0.6 → 1, eu-west-1 0.4 → 0');
  });

  test('a dry run reads the split, says what would change, and changes nothing', async () => {
    const outcome = await act(
      activities['gateway.setRegionWeights'],
      apply({ target: chat, params: { weights: { 'us-east-1': 0.5, 'eu-west-1': 0.5 } }, dryRun: true }),
    );
    expect(outcome).toEqual({
      summary: 'would set region weights of route chat: us-east-1 0.6 → 0.5, eu-west-1 0.4 → 0.5',
      previous: { weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } },
      undo: null,
    });
    expect(simulator.store.changes).toEqual([]);
  });

  test("a region the route is not served in is the gateway's non-retryable rejection", async () => {
    const failure = await failureOf(
      act(activities['gateway.setRegionWeights'], apply({ target: chat, params: { weights: { 'ap-south-1': 1 } } })),
    );
    expect(failure).toMatchObject({ nonRetryable: true, type: 'GatewayRejected', details: [{ status: 422 }] });
    expect(failure.message).toBe(
      'gateway PUT /v1/routes/chat/regions answered 422: route chat is not served in ap-south-1; its regions are us-east-1, eu-west-1',
    );
  });

  test('weights that do not sum to 1 are invalid params', async () => {
    const failure = await failureOf(
      act(activities['gateway.setRegionWeights'], apply({ target: chat, params: { weights: { 'us-east-1': 0.5 } } })),
    );
    expect(failure).toMatchObject({ nonRetryable: true, type: 'InvalidParams' });
    expect(failure.message).toMatch(
      /^gateway\.setRegionWeights: invalid params: weights: the weights sum to 0\.5, not 1/,
    );
  });

  test('an unreachable gateway is a retryable failure', async () => {
    await simulator.close();
    const failure = await failureOf(
      act(activities['gateway.setRegionWeights'], apply({ target: chat, params: { weights: { 'us-east-1': 1 } } })),
    );
    expect(failure).toMatchObject({ nonRetryable: false, type: 'GatewayUnavailable' });
    expect(failure.message).toMatch(/^gateway PUT \/v1\/routes\/chat\/regions failed: ECONNREFUSED/);
    simulator = await startSimulator();
  });
});

describe('checks', () => {
  test('gateway.getTenantQuota: the quota fields as facts, from a tenant or a route target', async () => {
    const quota = { tokensPerDay: 12_000_000_000, requestsPerSecond: 60, costPerDayUsd: 65_000 };
    expect(
      await check(activities['gateway.getTenantQuota'], {
        target: target('tenant', { tenant: 'initech' }),
        params: {},
      }),
    ).toEqual(quota);
    expect(
      await check(activities['gateway.getTenantQuota'], {
        target: target('route', { route: 'chat', tenant: 'initech' }),
        params: {},
      }),
    ).toEqual(quota);
    const failure = await failureOf(
      check(activities['gateway.getTenantQuota'], { target: target('route', { route: 'chat' }), params: {} }),
    );
    expect(failure).toMatchObject({ nonRetryable: true, type: 'InvalidTarget' });
  });

  test('gateway.getRegionWeights: the primary region, its share, how many regions serve, and the weights', async () => {
    expect(
      await check(activities['gateway.getRegionWeights'], { target: target('route', { route: 'fraud' }), params: {} }),
    ).toEqual({
      primaryRegion: 'us-east-1',
      primaryWeight: 0.6,
      activeRegions: 2,
      weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 },
    });
    simulator.store.putRegionWeights('fraud', { weights: { 'eu-west-1': 1 } });
    expect(
      await check(activities['gateway.getRegionWeights'], { target: target('route', { route: 'fraud' }), params: {} }),
    ).toMatchObject({ primaryRegion: 'eu-west-1', primaryWeight: 1, activeRegions: 1 });
  });

  test('gateway.getRegionWeights on an unknown route is a non-retryable rejection', async () => {
    const failure = await failureOf(
      check(activities['gateway.getRegionWeights'], { target: target('route', { route: 'nope' }), params: {} }),
    );
    expect(failure).toMatchObject({ nonRetryable: true, type: 'GatewayRejected' });
  });
});

describe('on a deployment target, a step names its route in params.route', () => {
  const deployment = () => target('deployment', { namespace: 'inference', deployment: 'llm-premium-us-east-1' });

  test('the whole route changes, and the undo names the route too', async () => {
    const outcome = await act(
      activities['gateway.setRoutePolicy'],
      apply({ target: deployment(), params: { route: 'code-assist', policy: { priority: 2 } } }),
    );
    expect(outcome.summary).toBe('route code-assist: priority 5 → 2');
    expect(outcome.undo).toEqual({
      action: 'gateway.setRoutePolicy',
      params: { route: 'code-assist', policy: { priority: 5 } },
    });
    await undo(outcome, deployment());
    expect(simulator.store.get({ route: 'code-assist' }).policy.priority).toBe(5);

    expect(
      await check(activities['gateway.getRegionWeights'], { target: deployment(), params: { route: 'chat' } }),
    ).toMatchObject({ weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } });
    expect(
      await check(activities['gateway.getRoutePolicy'], { target: deployment(), params: { route: 'fraud' } }),
    ).toMatchObject({ priority: 10 });
  });

  test('without params.route there is nothing to act on: refused, not retried, saying what to set', async () => {
    const failure = await failureOf(
      act(activities['gateway.setRoutePolicy'], apply({ target: deployment(), params: { policy: { priority: 2 } } })),
    );
    expect(failure).toMatchObject({
      nonRetryable: true,
      type: 'InvalidTarget',
      message:
        'target namespace=inference,deployment=llm-premium-us-east-1 names no route: set params.route to the route to act on',
    });
  });
});
