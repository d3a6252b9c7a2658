// The policies against the real OPA (OPA_PATH, set by scripts/bootstrap.mjs): `opa test`, answers
// and decision ids through the client, OPA and the built-in rules agreeing case by case, the
// bearer token, and what the engine does when OPA cannot answer (S1 fails closed, S2 falls back).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPolicyActivities, type PolicyCheckRequest } from '../../policy/policy-activities';
import { actionVerdict, tierVerdict, type PolicyQuestion, type TierQuestion } from '../../policy/builtin-rules';
import { decide, OPA_DECISION_PATHS } from '../../policy/decide';
import { OpaClient, OpaError } from '../../policy/opa-client';
import { TEST_GUARDRAILS } from '../helpers/activities';
import { actionQuestion, offlinePolicyDeps, testTarget } from '../helpers/policy';
import {
  healthy,
  loggedDecision,
  opaPath,
  POLICIES,
  startOpa,
  startPolicyServer,
  type RunningOpa,
} from '../helpers/opa';
import { freePort } from '../helpers/ports';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const target = testTarget;
const chatAcme = target('route', { route: 'chat', tenant: 'acme' });
const deployment = target('deployment', { namespace: 'llm', deployment: 'vllm' });
const ask = actionQuestion;
const tier = (
  burnRate: number,
  tierP95LatencyMs: Record<string, number>,
  extra: Partial<TierQuestion> = {},
): TierQuestion => ({
  kind: 'tier',
  route: 'chat',
  currentTier: 'premium',
  burnRate,
  p95LatencyMs: 400,
  latencySloMs: 500,
  tierP95LatencyMs,
  severity: 'S2',
  guardrails: TEST_GUARDRAILS,
  ...extra,
});

const atQuota = { usage: { tokensToday: 1000, tokensPerDay: 1000 } };
const underQuota = { usage: { tokensToday: 999, tokensPerDay: 1000 } };

/** Every rule, allowed and refused, at and beside its boundaries. */
const CASES: Array<[string, PolicyQuestion]> = [
  ['a harmless change', ask('gateway.setRoutePolicy', chatAcme, { policy: { maxInputTokens: 4096 } })],
  [
    'throttling a protected route',
    ask('gateway.setRoutePolicy', target('route', { route: 'core' }), {
      policy: { rateLimitRps: 5, modelTier: 'distilled' },
    }),
  ],
  [
    'tiering a protected route named in params',
    ask('gateway.setRoutePolicy', deployment, { route: 'fraud', policy: { modelTier: 'distilled' } }),
  ],
  [
    'prioritising a protected route',
    ask('gateway.setRoutePolicy', target('route', { route: 'core' }), { policy: { priority: 10 } }),
  ],
  [
    'the quota of a protected tenant',
    ask('gateway.setTenantQuota', target('tenant', { tenant: 'internal' }), { quota: { tokensPerDay: 10 } }),
  ],
  [
    'the quota of a tenant alerting on a protected route',
    ask('gateway.setTenantQuota', target('route', { route: 'risk', tenant: 'acme' }), { quota: { tokensPerDay: 10 } }),
  ],
  ['the quota of an ordinary tenant', ask('gateway.setTenantQuota', chatAcme, { quota: { costPerDayUsd: 100 } })],
  [
    'a sensitive circuit opened failing open',
    ask('gateway.setRoutePolicy', target('route', { route: 'summarize' }), {
      policy: { circuit: { state: 'open', failMode: 'open' } },
    }),
  ],
  [
    'a sensitive circuit opened failing closed',
    ask('gateway.setRoutePolicy', target('route', { route: 'summarize' }), {
      policy: { circuit: { state: 'open', failMode: 'closed' } },
    }),
  ],
  [
    'a protected and sensitive circuit',
    ask('gateway.setRoutePolicy', target('route', { route: 'risk' }), {
      policy: { circuit: { state: 'open', failMode: 'open' } },
    }),
  ],
  [
    'closing the circuit of a tenant at its quota',
    ask('gateway.setRoutePolicy', chatAcme, { policy: { circuit: { state: 'closed', failMode: 'open' } } }, atQuota),
  ],
  [
    'closing it one token under the quota',
    ask('gateway.setRoutePolicy', chatAcme, { policy: { circuit: { state: 'closed', failMode: 'open' } } }, underQuota),
  ],
  [
    'lifting the rate limit at the quota',
    ask('gateway.setRoutePolicy', chatAcme, { policy: { rateLimitRps: null } }, atQuota),
  ],
  [
    'adding a fallback at the quota',
    ask('gateway.setRoutePolicy', chatAcme, { policy: { fallbackModel: 'small' } }, atQuota),
  ],
  [
    'throttling a tenant at its quota',
    ask('gateway.setRoutePolicy', chatAcme, { policy: { rateLimitRps: 2 } }, atQuota),
  ],
  [
    'lifting a whole named route at the quota',
    ask('gateway.setRoutePolicy', chatAcme, { route: 'chat', policy: { rateLimitRps: null } }, atQuota),
  ],
  [
    'raising the daily quota at the quota',
    ask('gateway.setTenantQuota', chatAcme, { quota: { tokensPerDay: 1001 } }, atQuota),
  ],
  [
    'keeping the daily quota at the quota',
    ask('gateway.setTenantQuota', chatAcme, { quota: { tokensPerDay: 1000 } }, atQuota),
  ],
  [
    'an unlimited cost quota at the quota',
    ask('gateway.setTenantQuota', chatAcme, { quota: { costPerDayUsd: null } }, atQuota),
  ],
  [
    'a first quota for an unlimited tenant',
    ask(
      'gateway.setTenantQuota',
      chatAcme,
      { quota: { tokensPerDay: 5 } },
      { usage: { tokensToday: 10, tokensPerDay: null } },
    ),
  ],
  [
    'lifting a limit with unknown use',
    ask(
      'gateway.setRoutePolicy',
      chatAcme,
      { policy: { rateLimitRps: null } },
      { usage: { tokensToday: null, tokensPerDay: 10 } },
    ),
  ],
  ['scaling out a deployment', ask('kubernetes.scaleDeployment', deployment, { addReplicas: 2 }, atQuota)],
  ['burn under pace', tier(0.99, { standard: 300, distilled: 200 })],
  ['burn at pace', tier(1, { standard: 300, distilled: 200 })],
  ['burn just under twice the pace', tier(1.99, { standard: 300, distilled: 200 })],
  ['burn at twice the pace', tier(2, { standard: 300, distilled: 200 })],
  ['a cheaper tier breaking the SLO', tier(3, { standard: 450, distilled: 650 })],
  ['a tier exactly at the SLO', tier(3, { distilled: 500 })],
  ['tiers of unknown latency', tier(3, {})],
  ['no tier keeping the SLO', tier(3, { standard: 800 }, { p95LatencyMs: 900 })],
  ['a cheap route when the burn falls', tier(0.5, { premium: 400 }, { currentTier: 'distilled', p95LatencyMs: 200 })],
  ['a protected route at a high burn', tier(5, { distilled: 200 }, { route: 'fraud' })],
];

/** What the engine sends OPA: the question without its kind, which picks the decision's path. */
function inputOf(question: PolicyQuestion): Record<string, unknown> {
  const input: Record<string, unknown> = { ...question };
  delete input.kind;
  return input;
}

const builtinOf = (question: PolicyQuestion) =>
  question.kind === 'action' ? actionVerdict(question) : tierVerdict(question);

let opa: RunningOpa;
let client: OpaClient;
beforeAll(async () => {
  opa = await startPolicyServer();
  client = new OpaClient({ url: opa.url, timeoutMs: 5_000 });
});
afterAll(() => opa?.close());

test('opa test passes every case in policy/rego/', () => {
  const result = spawnSync(opaPath(), ['test', POLICIES, '-v'], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  const [, passed, total] = /^PASS: (\d+)\/(\d+)$/m.exec(result.stdout) ?? [];
  expect(Number(passed)).toBeGreaterThan(0);
  expect(passed).toBe(total);
  expect(result.status).toBe(0);
});

test("the client POSTs the input to OPA's Data API and answers the result with the decision id OPA logged", async () => {
  const question = ask('gateway.setRoutePolicy', target('route', { route: 'core' }), { policy: { rateLimitRps: 5 } });
  const input = inputOf(question);
  const answer = await client.evaluate(OPA_DECISION_PATHS.action, input);
  expect(answer).toEqual({
    result: {
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
    },
    decisionId: expect.stringMatching(UUID) as unknown,
  });
  // OPA's own decision log: the request it received, under the id the client answered.
  expect(await loggedDecision(opa, answer.decisionId!)).toMatchObject({ path: 'finops_soar/action/decision', input });
});

test.each(CASES)('OPA and the built-in rules agree: %s', async (_name, question) => {
  const decision = await decide(question, { opa: client });
  const { decisionId, source, ...answer } = decision;
  expect(source).toBe('opa');
  expect(decisionId).toMatch(UUID);
  expect(answer).toEqual(builtinOf(question));
});

test('the table covers every refusal rule and every tier', () => {
  const verdicts = CASES.map(([, question]) => builtinOf(question));
  const refusedBy = new Set(
    verdicts.flatMap((verdict) => ('denials' in verdict ? verdict.denials.map(({ rule }) => rule) : [])),
  );
  expect([...refusedBy].sort()).toEqual([
    'protected_route',
    'protected_tenant',
    'sensitive_fail_open',
    'tenant_over_quota',
  ]);
  expect(new Set(verdicts.flatMap((verdict) => ('tier' in verdict ? [verdict.tier] : [])))).toEqual(
    new Set(['premium', 'standard', 'distilled']),
  );
});

test('policy.check asks OPA and records its decision id; a quota in OPA data counts too', async () => {
  const { 'policy.check': check } = createPolicyActivities(
    offlinePolicyDeps({ opa: { url: opa.url, timeoutMs: 5_000 } }),
  );
  const request: PolicyCheckRequest = {
    action: 'gateway.setRoutePolicy',
    target: chatAcme,
    params: { policy: { cacheMode: 'aggressive' } },
    severity: 'S1',
  };
  const decision = await new MockActivityEnvironment().run(check, request);
  expect(decision).toEqual({
    allowed: true,
    denials: [],
    reason: 'no policy refuses gateway.setRoutePolicy on route=chat,tenant=acme',
    decisionId: expect.stringMatching(UUID) as unknown,
    source: 'opa',
  });

  const quotas = mkdtempSync(join(tmpdir(), 'finops-soar-opa-data-'));
  writeFileSync(join(quotas, 'data.json'), JSON.stringify({ finops_soar: { quotas: { acme: { tokensPerDay: 50 } } } }));
  const withData = await startOpa([], [POLICIES, quotas], healthy);
  try {
    const lifted = await decide(
      ask('gateway.setRoutePolicy', chatAcme, { policy: { rateLimitRps: null } }, { usage: { tokensToday: 60 } }),
      {
        opa: new OpaClient({ url: withData.url, timeoutMs: 5_000 }),
      },
    );
    expect(lifted).toMatchObject({
      allowed: false,
      denials: [
        {
          rule: 'tenant_over_quota',
          message: expect.stringContaining('has used 60 of its 50 tokens today') as unknown,
        },
      ],
      source: 'opa',
    });
    // Without decision logs OPA gives no decision id, and the decision says none.
    expect(lifted.decisionId).toBeUndefined();
  } finally {
    await withData.close();
    rmSync(quotas, { recursive: true, force: true });
  }
});

test('the bearer token reaches an OPA that requires one; without it OPA refuses and the error names the setting', async () => {
  const authz = mkdtempSync(join(tmpdir(), 'finops-soar-opa-authz-'));
  writeFileSync(
    join(authz, 'authz.rego'),
    'package system.authz\n\ndefault allow := false\n\nallow if input.identity == "s3cret"\n',
  );
  const guarded = await startOpa(['--authentication=token', '--authorization=basic'], [POLICIES, authz], (url) =>
    healthy(url, { Authorization: 'Bearer s3cret' }),
  );
  try {
    const question = tier(2, { distilled: 200 });
    const input = inputOf(question);
    const refused = await new OpaClient({ url: guarded.url, timeoutMs: 5_000 })
      .evaluate(OPA_DECISION_PATHS.tier, input)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpaError);
    expect(refused).toMatchObject({
      retryable: false,
      message: `OPA at ${guarded.url} answered 401 (unauthorized: request rejected by administrative policy): check policy.opaToken`,
    });
    const answered = await new OpaClient({ url: guarded.url, token: 's3cret', timeoutMs: 5_000 }).evaluate(
      OPA_DECISION_PATHS.tier,
      input,
    );
    expect(answered.result).toEqual(tierVerdict(question));
  } finally {
    await guarded.close();
    rmSync(authz, { recursive: true, force: true });
  }
});

test('a path with no policy is an error to fix, not an empty answer', async () => {
  const missing = await client.evaluate('finops_soar/nothing/decision', {}).catch((error: unknown) => error);
  expect(missing).toMatchObject({
    retryable: false,
    message: `OPA at ${opa.url} has no decision at data.finops_soar.nothing.decision: load the policies (opa run --server policy/rego/) or fix policy.opaUrl`,
  });
});

describe('when OPA cannot answer', () => {
  const throttleChat = (severity: 'S1' | 'S2') =>
    ask('gateway.setRoutePolicy', chatAcme, { policy: { rateLimitRps: 5 } }, { severity });
  let down: OpaClient;
  let silent: Server;
  let silentUrl: string;
  beforeAll(async () => {
    down = new OpaClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 5_000 });
    // Accepts the request and never answers, like an OPA stuck on a huge bundle.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    silent.closeAllConnections();
    silent.close();
  });

  test('an unreachable or silent OPA is a retryable error that says where it looked', async () => {
    const unreachable = await down.evaluate(OPA_DECISION_PATHS.action, {}).catch((error: unknown) => error);
    expect(unreachable).toMatchObject({
      retryable: true,
      message: `OPA at ${down.url} could not be reached (ECONNREFUSED); check policy.opaUrl and that OPA is up`,
    });
    const timedOut = await new OpaClient({ url: silentUrl, timeoutMs: 200 })
      .evaluate(OPA_DECISION_PATHS.action, {})
      .catch((error: unknown) => error);
    expect(timedOut).toMatchObject({
      retryable: true,
      message: `OPA at ${silentUrl} did not answer within 200 ms; check policy.opaUrl and that OPA is up`,
    });
  });

  test('an S1 action fails closed, and an S1 tier question keeps the current tier', async () => {
    expect(await decide(throttleChat('S1'), { opa: down })).toEqual({
      allowed: false,
      reason: `OPA could not answer (OPA at ${down.url} could not be reached (ECONNREFUSED); check policy.opaUrl and that OPA is up), and an S1 change fails closed: gateway.setRoutePolicy on route=chat,tenant=acme does not run`,
      source: 'opa',
    });
    expect(
      await decide(tier(3, { distilled: 200 }, { severity: 'S1' }), {
        opa: new OpaClient({ url: silentUrl, timeoutMs: 200 }),
      }),
    ).toMatchObject({
      allowed: false,
      tier: 'premium',
      reason: expect.stringMatching(
        /did not answer within 200 ms.*an S1 change fails closed: route chat stays on premium$/,
      ) as unknown,
      source: 'opa',
    });
  });

  test('an S2 action falls back to the built-in rules and says so', async () => {
    const builtin = actionVerdict(throttleChat('S2'));
    expect(builtin.allowed).toBe(true);
    expect(await decide(throttleChat('S2'), { opa: down })).toEqual({
      ...builtin,
      reason: `OPA could not answer (OPA at ${down.url} could not be reached (ECONNREFUSED); check policy.opaUrl and that OPA is up), so the built-in rules decided: ${builtin.reason}`,
      source: 'builtin',
    });
  });

  test('an answer that is not a decision counts as no answer', async () => {
    const stale = mkdtempSync(join(tmpdir(), 'finops-soar-opa-stale-'));
    writeFileSync(join(stale, 'stale.rego'), 'package finops_soar.action\n\ndecision := {"allow": true}\n');
    const old = await startOpa([], [stale], healthy);
    try {
      const decision = await decide(throttleChat('S1'), { opa: new OpaClient({ url: old.url, timeoutMs: 5_000 }) });
      expect(decision).toMatchObject({ allowed: false, source: 'opa' });
      expect(decision.reason).toContain(
        'answered data.finops_soar.action.decision with {"allow":true}, not a decision: load the policies of this version of finops-soar',
      );
    } finally {
      await old.close();
      rmSync(stale, { recursive: true, force: true });
    }
  });
});
