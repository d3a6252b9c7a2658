import { parseMatcher } from '../../alerts/matchers';
import { unmetCondition } from '../../playbook/conditions';
import { parsePlaybook } from '../../playbook/playbook-load';
import { protectedRouteRefusal, protectedTenantQuotaRefusal, withFailMode } from '../../policy/guardrails';

describe('step conditions', () => {
  const context = {
    labels: { tenant: 'acme', route: 'chat' },
    severity: 'S2' as const,
    facts: { current: { maxInputTokens: 32_768, cacheMode: 'standard', circuit: { state: 'closed' } } },
  };

  test.each([
    [{ labels: [parseMatcher('tenant=~"acme|globex"')] }, undefined],
    [{ labels: [parseMatcher('route="summarize"')] }, 'the alert does not match route="summarize"'],
    [{ severity: 'S2' as const }, undefined],
    [{ severity: 'S3' as const }, undefined],
    [{ severity: 'S1' as const }, 'the run is S2; the step needs S1 or more severe'],
    [{ facts: [{ fact: 'current.maxInputTokens', above: 8192 }] }, undefined],
    [{ facts: [{ fact: 'current.maxInputTokens', below: 8192 }] }, 'current.maxInputTokens is 32768, not below 8192'],
    [{ facts: [{ fact: 'current.circuit.state', equals: 'closed' }] }, undefined],
    [{ facts: [{ fact: 'current.cacheMode', above: 1 }] }, 'current.cacheMode is "standard", not above 1'],
    [
      { facts: [{ fact: 'budget.remaining', below: 1 }] },
      'budget.remaining is not known (its check did not run or failed)',
    ],
    [undefined, undefined],
  ])('%j → %s', (condition, expected) => {
    expect(unmetCondition(condition, context)).toBe(expected);
  });
});

describe('step kinds', () => {
  const withSteps = (steps: string) =>
    parsePlaybook('p.yaml', `name: p\ndescription: d\nseverity: S2\nmatch: [a="b"]\ntarget: route\nsteps:\n${steps}`)
      .problems;

  test('a step does exactly one thing', () => {
    expect(withSteps('  - { id: a, notify: { to: [x], message: m }, waitUntilResolved: true }')).toEqual([
      'p.yaml:7:5: steps[0]: a step does exactly one thing: give one of action, notify, approval, check, waitUntilResolved, warRoom, adapt, verify (found notify and waitUntilResolved)',
    ]);
    expect(withSteps('  - { id: a }')[0]).toMatch(/found none\)$/);
  });

  test('params belong to actions and checks', () => {
    expect(withSteps('  - { id: a, notify: { to: [x], message: m }, params: { x: 1 } }')).toEqual([
      "p.yaml:7:55: steps[0].params: params belong to an action or a check step. Expected: the action's or check's parameters; strings may use {{ labels.NAME }} and {{ annotations.NAME }}",
    ]);
  });

  test('facts must come from an earlier check step', () => {
    expect(
      withSteps(
        '  - { id: a, when: { facts: [{ fact: later.x, above: 1 }] }, notify: { to: [x], message: m } }\n  - { id: later, check: gateway.getRoutePolicy }',
      ),
    ).toEqual([
      'p.yaml:7:38: steps[0].when.facts[0].fact: "later" is not a check step before this one; facts come from earlier check steps',
    ]);
  });

  test('an empty condition or comparison is refused', () => {
    expect(withSteps('  - { id: a, when: {}, notify: { to: [x], message: m } }')[0]).toMatch(
      /steps\[0\]\.when: an empty condition: give labels, severity or facts/,
    );
    expect(withSteps('  - { id: a, when: { facts: [{ fact: c.x }] }, notify: { to: [x], message: m } }')[0]).toMatch(
      /say what to compare with: above, below or equals/,
    );
  });
});

describe('guardrails', () => {
  const guardrails = {
    protectedRoutes: ['core', 'risk', 'fraud'],
    sensitiveRoutes: ['risk'],
    protectedTenants: ['internal'],
  };

  test('protected routes refuse throttling, tiering and circuit breaking, and nothing else', () => {
    expect(protectedRouteRefusal('fraud', { rateLimitRps: 1, cacheMode: 'aggressive' }, guardrails)).toMatch(
      /^route fraud is protected .* so rateLimitRps stays as it is$/,
    );
    expect(
      protectedRouteRefusal(
        'core',
        { modelTier: 'distilled', circuit: { state: 'open', failMode: 'open' } },
        guardrails,
      ),
    ).toMatch(/so modelTier, circuit stays as it is$/);
    expect(protectedRouteRefusal('fraud', { cacheMode: 'aggressive', priority: 10 }, guardrails)).toBeUndefined();
    expect(protectedRouteRefusal('chat', { rateLimitRps: 1 }, guardrails)).toBeUndefined();
  });

  test("a tenant's quota stays as it is when its alert is about a protected route", () => {
    expect(protectedTenantQuotaRefusal('acme', 'risk', guardrails)).toBe(
      'route risk is protected (engine.protectedRoutes): its traffic is never quota-limited, so the quota of tenant acme, whose alert is about route risk, stays as it is',
    );
    // A protected tenant, whatever the alert is about: its quota covers its protected traffic too.
    for (const route of ['chat', undefined]) {
      expect(protectedTenantQuotaRefusal('internal', route, guardrails)).toBe(
        'tenant internal is protected (engine.protectedTenants): its traffic is never quota-limited, so its quota stays as it is',
      );
    }
    expect(protectedTenantQuotaRefusal('acme', 'chat', guardrails)).toBeUndefined();
    // A tenant target carries no route label: the alert is about the tenant's traffic as a whole.
    expect(protectedTenantQuotaRefusal('acme', undefined, guardrails)).toBeUndefined();
    expect(protectedTenantQuotaRefusal('acme', 'fraud', { ...guardrails, protectedRoutes: [] })).toBeUndefined();
  });

  test('the fail mode follows the route, not the playbook', () => {
    expect(withFailMode('risk', { circuit: { state: 'open', failMode: 'open' } }, guardrails).circuit).toEqual({
      state: 'open',
      failMode: 'closed',
    });
    expect(withFailMode('chat', { circuit: { state: 'open', failMode: 'closed' } }, guardrails).circuit).toEqual({
      state: 'open',
      failMode: 'open',
    });
    expect(withFailMode('chat', { cacheMode: 'off' }, guardrails)).toEqual({ cacheMode: 'off' });
  });
});
