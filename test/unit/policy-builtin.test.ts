// The built-in policy rules (no OPA): the guardrails, the daily token quota and tiered routing, and
// the policy.check activity deciding with them (test/integration/policy-tier.test.ts: the activities reading live
// numbers). test/integration/opa.test.ts holds
// OPA to the same answers.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createPolicyActivities, type PolicyCheckRequest } from '../../policy/policy-activities';
import type { Target } from '../../alerts/target';
import {
  actionVerdict,
  tierVerdict,
  type ActionQuestion,
  type TenantUsage,
  type TierQuestion,
} from '../../policy/builtin-rules';
import { decide } from '../../policy/decide';
import { TEST_GUARDRAILS } from '../helpers/activities';
import { actionQuestion, offlinePolicyDeps, testTarget } from '../helpers/policy';

const target = testTarget;
const chatAcme = target('route', { route: 'chat', tenant: 'acme' });
const ask = (action: string, on: Target, params: unknown, usage?: TenantUsage): ActionQuestion =>
  actionQuestion(action, on, params, usage && { usage });
const rules = (question: ActionQuestion) => actionVerdict(question).denials.map(({ rule }) => rule);

describe('may this action run on this target', () => {
  test('a change no rule refuses is allowed, and says so', () => {
    expect(actionVerdict(ask('gateway.setRoutePolicy', chatAcme, { policy: { maxInputTokens: 4096 } }))).toEqual({
      allowed: true,
      denials: [],
      reason: 'no policy refuses gateway.setRoutePolicy on route=chat,tenant=acme',
    });
  });

  test('a protected route is never throttled, tiered or circuit-broken, whether it is the target or named in params', () => {
    const verdict = actionVerdict(
      ask('gateway.setRoutePolicy', target('route', { route: 'core' }), {
        policy: { rateLimitRps: 5, cacheMode: 'aggressive' },
      }),
    );
    expect(verdict).toEqual({
      allowed: false,
      denials: [
        {
          rule: 'protected_route',
          message:
            'route core is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so rateLimitRps stays as it is',
        },
      ],
      reason:
        'route core is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so rateLimitRps stays as it is',
    });
    const deployment = target('deployment', { namespace: 'llm', deployment: 'vllm' });
    expect(
      rules(ask('gateway.setRoutePolicy', deployment, { route: 'fraud', policy: { modelTier: 'distilled' } })),
    ).toEqual(['protected_route']);
    expect(
      actionVerdict(ask('gateway.setRoutePolicy', target('route', { route: 'core' }), { policy: { priority: 10 } }))
        .allowed,
    ).toBe(true);
  });

  test('the quota of a protected tenant, or of a tenant alerting on a protected route, is never changed', () => {
    expect(
      actionVerdict(
        ask('gateway.setTenantQuota', target('tenant', { tenant: 'internal' }), { quota: { tokensPerDay: 10 } }),
      ).reason,
    ).toBe(
      'tenant internal is protected (engine.protectedTenants): its traffic is never quota-limited, so its quota stays as it is',
    );
    expect(
      actionVerdict(
        ask('gateway.setTenantQuota', target('route', { route: 'risk', tenant: 'acme' }), {
          quota: { tokensPerDay: 10 },
        }),
      ).reason,
    ).toBe(
      'route risk is protected (engine.protectedRoutes): its traffic is never quota-limited, so the quota of tenant acme, whose alert is about route risk, stays as it is',
    );
    expect(actionVerdict(ask('gateway.setTenantQuota', chatAcme, { quota: { tokensPerDay: 10 } })).allowed).toBe(true);
  });

  test('a sensitive circuit opens only with failMode closed; several refusals come ordered by message', () => {
    const summarize = target('route', { route: 'summarize' });
    expect(
      rules(ask('gateway.setRoutePolicy', summarize, { policy: { circuit: { state: 'open', failMode: 'open' } } })),
    ).toEqual(['sensitive_fail_open']);
    expect(
      actionVerdict(
        ask('gateway.setRoutePolicy', summarize, { policy: { circuit: { state: 'open', failMode: 'closed' } } }),
      ).allowed,
    ).toBe(true);
    expect(
      actionVerdict(
        ask('gateway.setRoutePolicy', chatAcme, { policy: { circuit: { state: 'open', failMode: 'open' } } }),
      ).allowed,
    ).toBe(true);
    const both = actionVerdict(
      ask('gateway.setRoutePolicy', target('route', { route: 'risk' }), {
        policy: { circuit: { state: 'open', failMode: 'open' } },
      }),
    );
    expect(both.denials.map(({ rule }) => rule)).toEqual(['protected_route', 'sensitive_fail_open']);
    expect(both.reason).toBe(both.denials.map(({ message }) => message).join('; '));
  });

  describe('the daily token quota', () => {
    const atQuota = { tokensToday: 1000, tokensPerDay: 1000 };
    const underQuota = { tokensToday: 999, tokensPerDay: 1000 };

    test('refuses a change that raises or keeps the traffic of a tenant that has used its quota', () => {
      expect(
        actionVerdict(
          ask(
            'gateway.setRoutePolicy',
            chatAcme,
            { policy: { circuit: { state: 'closed', failMode: 'open' } } },
            atQuota,
          ),
        ).reason,
      ).toBe(
        'tenant acme has used 1000 of its 1000 tokens today (its daily quota): gateway.setRoutePolicy would raise or keep its traffic, so it waits until the quota resets at 00:00 UTC',
      );
      for (const policy of [{ rateLimitRps: null }, { maxInputTokens: null }, { fallbackModel: 'small' }]) {
        expect(rules(ask('gateway.setRoutePolicy', chatAcme, { policy }, atQuota))).toEqual(['tenant_over_quota']);
      }
      expect(rules(ask('gateway.setTenantQuota', chatAcme, { quota: { costPerDayUsd: null } }, atQuota))).toEqual([
        'tenant_over_quota',
      ]);
      expect(rules(ask('gateway.setTenantQuota', chatAcme, { quota: { tokensPerDay: 1001 } }, atQuota))).toEqual([
        'tenant_over_quota',
      ]);
    });

    test('allows it one token under the quota, and allows restricting a tenant at its quota', () => {
      expect(
        actionVerdict(ask('gateway.setRoutePolicy', chatAcme, { policy: { rateLimitRps: null } }, underQuota)).allowed,
      ).toBe(true);
      expect(
        actionVerdict(
          ask('gateway.setRoutePolicy', chatAcme, { policy: { rateLimitRps: 2, maxInputTokens: 4096 } }, atQuota),
        ).allowed,
      ).toBe(true);
      expect(
        actionVerdict(ask('gateway.setTenantQuota', chatAcme, { quota: { tokensPerDay: 1000 } }, atQuota)).allowed,
      ).toBe(true);
    });

    test('judges nothing it cannot know: unknown use, an unlimited quota, a whole route, another system', () => {
      const lift = { policy: { rateLimitRps: null } };
      expect(actionVerdict(ask('gateway.setRoutePolicy', chatAcme, lift)).allowed).toBe(true);
      expect(
        actionVerdict(ask('gateway.setRoutePolicy', chatAcme, lift, { tokensToday: null, tokensPerDay: 10 })).allowed,
      ).toBe(true);
      expect(
        actionVerdict(ask('gateway.setRoutePolicy', chatAcme, lift, { tokensToday: 10, tokensPerDay: null })).allowed,
      ).toBe(true);
      expect(
        actionVerdict(
          ask(
            'gateway.setTenantQuota',
            chatAcme,
            { quota: { tokensPerDay: 5 } },
            { tokensToday: 10, tokensPerDay: null },
          ),
        ).allowed,
      ).toBe(true);
      expect(actionVerdict(ask('gateway.setRoutePolicy', chatAcme, { route: 'chat', ...lift }, atQuota)).allowed).toBe(
        true,
      );
      expect(
        actionVerdict(
          ask(
            'kubernetes.scaleDeployment',
            target('deployment', { namespace: 'llm', deployment: 'vllm' }),
            { addReplicas: 2 },
            atQuota,
          ),
        ).allowed,
      ).toBe(true);
    });
  });
});

describe('which tier', () => {
  // Premium is measured at 400 ms; standard would take 300 ms, distilled 200 ms; the SLO is 500 ms.
  const tierOf = (
    burnRate: number,
    tierP95LatencyMs: Record<string, number> = { standard: 300, distilled: 200 },
    overrides: Partial<TierQuestion> = {},
  ) =>
    tierVerdict({
      kind: 'tier',
      route: 'chat',
      currentTier: 'premium',
      burnRate,
      p95LatencyMs: 400,
      latencySloMs: 500,
      tierP95LatencyMs,
      severity: 'S2',
      guardrails: TEST_GUARDRAILS,
      ...overrides,
    });

  test('the burn rate picks the tier: under pace premium, from 1 standard, from 2 distilled', () => {
    expect(tierOf(0.99)).toEqual({
      allowed: true,
      tier: 'premium',
      reason: 'burn rate 0.99 wants premium (standard from 1, distilled from 2); its p95 400 ms keeps the 500 ms SLO',
    });
    expect([1, 1.99, 2].map((burn) => tierOf(burn).tier)).toEqual(['standard', 'standard', 'distilled']);
  });

  test('never a tier whose latency would break the SLO (exactly at the SLO keeps it), nor one of unknown latency', () => {
    expect(tierOf(3, { standard: 450, distilled: 650 })).toEqual({
      allowed: true,
      tier: 'standard',
      reason:
        'burn rate 3 wants distilled (standard from 1, distilled from 2), but its p95 (650 ms) would break the 500 ms SLO; standard keeps it at 450 ms',
    });
    expect(tierOf(3, { distilled: 500 }).tier).toBe('distilled');
    expect(tierOf(3, { standard: 500, distilled: 501 }).tier).toBe('standard');
    expect(tierOf(3, {}).reason).toBe(
      'burn rate 3 wants distilled (standard from 1, distilled from 2), but its p95 is not known; premium keeps the 500 ms SLO at 400 ms',
    );
    expect(tierOf(3, { standard: 800 }, { p95LatencyMs: 900 })).toEqual({
      allowed: true,
      tier: 'premium',
      reason:
        'burn rate 3 wants distilled (standard from 1, distilled from 2), but no tier from distilled up to premium is known to keep the 500 ms SLO, so it stays on premium',
    });
  });

  test('a cheap route moves back up when the burn falls; a protected route is never tiered', () => {
    expect(tierOf(0.5, { premium: 400 }, { currentTier: 'distilled', p95LatencyMs: 200 }).tier).toBe('premium');
    expect(tierOf(5, undefined, { route: 'fraud' })).toEqual({
      allowed: false,
      tier: 'premium',
      reason: 'route fraud is protected (engine.protectedRoutes): it is never tiered, so it stays on premium',
    });
  });
});

describe('decide without OPA', () => {
  test('the built-in rules answer, with no decision id', async () => {
    expect(
      await decide(ask('gateway.setRoutePolicy', target('route', { route: 'core' }), { policy: { rateLimitRps: 1 } })),
    ).toMatchObject({ allowed: false, source: 'builtin' });
    expect(
      await decide(ask('gateway.setRoutePolicy', chatAcme, { policy: { cacheMode: 'aggressive' } }), {
        opa: undefined,
      }),
    ).toEqual({
      allowed: true,
      denials: [],
      reason: 'no policy refuses gateway.setRoutePolicy on route=chat,tenant=acme',
      source: 'builtin',
    });
  });
});

describe('the policy activities', () => {
  const logger = new DefaultLogger('ERROR');
  const run = <Request, Result>(activity: (request: Request) => Promise<Result>, request: Request) =>
    new MockActivityEnvironment(undefined, { logger }).run(activity, request);
  const { 'policy.check': check } = createPolicyActivities(offlinePolicyDeps());

  test("policy.check judges the params as the action would apply them: the engine sets a circuit's fail mode", async () => {
    // capacity-s1 writes failMode open for summarize, which engine.sensitiveRoutes makes closed.
    const request: PolicyCheckRequest = {
      action: 'gateway.setRoutePolicy',
      target: target('deployment', { namespace: 'llm', deployment: 'vllm' }),
      params: { route: 'summarize', policy: { circuit: { state: 'open', failMode: 'open' } } },
      severity: 'S1',
    };
    expect(await run(check, request)).toMatchObject({ allowed: true, source: 'builtin' });
  });

  test('a bad request is refused, not retried, naming the field', async () => {
    const bad = await run(check, {
      action: 'gateway.noSuchAction' as 'gateway.setRoutePolicy',
      target: chatAcme,
      params: {},
      severity: 'S2',
    }).catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(ApplicationFailure);
    expect(bad).toMatchObject({
      nonRetryable: true,
      type: 'InvalidParams',
      message: expect.stringMatching(/^policy\.check: invalid request: action/) as unknown,
    });
  });
});
