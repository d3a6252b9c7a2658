// Gateway knobs (gateway/gateway-knobs.ts): a playbook step that needs a change the configured gateway cannot make is
// refused at load, naming the file, the line, the step, the knob and the gateway; with `unsupported: skip` it loads,
// and the plan skips it for the alerts it cannot serve, saying why. The shipped playbooks load on every gateway kind.
import type { Alert } from '../../alerts/alertmanager';
import { routeAlerts } from '../../alerts/routing';
import { readFileSync } from 'node:fs';
import { GATEWAY_KINDS, GATEWAY_KNOBS, knobTable, lackedKnobs } from '../../gateway/gateway-knobs';
import { loadPlaybooks, parsePlaybook } from '../../playbook/playbook-load';

const FILE = 'playbooks/cache.yaml';

const playbook = (extra = '') => `name: cache-harder
description: Cache harder.
severity: S2
match:
  - alertname="LLMCacheHitRatioLow"
target: route
steps:
  - id: current-policy
    check: gateway.getRoutePolicy
  - id: aggressive-cache
    action: gateway.setRoutePolicy
    params:
      policy: { cacheMode: aggressive }
${extra}  - id: tier-down
    action: gateway.setRoutePolicy
    params:
      policy: { modelTier: distilled }
`;

const alert = (labels: Record<string, string>): Alert => ({
  status: 'firing',
  labels: { alertname: 'LLMCacheHitRatioLow', ...labels },
  annotations: {},
  startsAt: '2026-12-02T10:00:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
  fingerprint: 'f1',
});

describe('gateway knobs at load', () => {
  test('a knob the gateway lacks is refused with the file, the line, the step, the knob and the gateway', () => {
    expect(parsePlaybook(FILE, playbook(), { gateway: 'litellm' }).problems).toEqual([
      'playbooks/cache.yaml:13:28: steps[1].params.policy.cacheMode: step aggressive-cache: the litellm gateway (gateway.kind) cannot do this: LiteLLM switches its response cache for the whole proxy only (/cache/settings). Remove the step, or give it unsupported: skip to skip it on this gateway (docs/gateways.md)',
      // A route target's change is the tenant's when the alert names one, else the whole route's: both must work.
      'playbooks/cache.yaml:17:28: steps[2].params.policy.modelTier: step tier-down: the litellm gateway (gateway.kind) cannot do this: for a whole route: LiteLLM aliases models per team or key. Remove the step, or give it unsupported: skip to skip it on this gateway, or match only alerts with a tenant label (tenant=~".+") (docs/gateways.md)',
    ]);
  });

  test('a playbook that matches only alerts with a tenant label acts for the tenant: its tier step loads', () => {
    const forTenants = playbook().replace(
      'alertname="LLMCacheHitRatioLow"',
      'alertname="LLMCacheHitRatioLow"\n  - tenant=~".+"',
    );
    expect(parsePlaybook(FILE, forTenants, { gateway: 'litellm' }).problems).toEqual([
      expect.stringContaining('steps[1].params.policy.cacheMode: step aggressive-cache'),
    ]);
  });

  test('the Control API does every knob; no gateway named means no gateway check', () => {
    expect(parsePlaybook(FILE, playbook(), { gateway: 'control-api' }).problems).toEqual([]);
    expect(parsePlaybook(FILE, playbook()).problems).toEqual([]);
    for (const knobs of Object.values(GATEWAY_KNOBS['control-api']))
      expect(knobs.route ?? knobs.tenant).toEqual(expect.any(String));
  });

  test('unsupported: skip belongs to changes only', () => {
    const onCheck = playbook().replace(
      'check: gateway.getRoutePolicy',
      'check: gateway.getRoutePolicy\n    unsupported: skip',
    );
    expect(parsePlaybook(FILE, onCheck).problems).toEqual([
      expect.stringContaining(
        'steps[0].unsupported: belongs to a step that changes something (action or adapt): only changes can be beyond a gateway',
      ),
    ]);
  });

  test('with unsupported: skip the playbook loads, and the plan skips the step where the gateway cannot do it', () => {
    const text = playbook()
      .replace(/(tier-down[\s\S]*)$/, '$1    unsupported: skip\n')
      .replace('policy: { cacheMode: aggressive }\n', 'policy: { cacheMode: aggressive }\n    unsupported: skip\n');
    const { playbook: loaded, problems } = parsePlaybook(FILE, text, { gateway: 'litellm' });
    expect(problems).toEqual([]);
    const plan = (labels: Record<string, string>) => {
      const [decision] = routeAlerts([alert(labels)], [loaded!], { cooldownMs: 0, gateway: 'litellm' });
      if (decision?.outcome !== 'routed') throw new Error(JSON.stringify(decision));
      return Object.fromEntries(decision.plan.steps.map(({ id, skip }) => [id, skip]));
    };
    // A tenant's tier is a team's model alias; a whole route's is beyond LiteLLM.
    const forTenant = plan({ route: 'chat', tenant: 'acme' });
    expect(Object.keys(forTenant)).toEqual(['current-policy', 'aggressive-cache', 'tier-down']);
    expect(forTenant['aggressive-cache']).toMatch(
      /^the litellm gateway cannot set policy.cacheMode \(LiteLLM switches/,
    );
    expect([forTenant['current-policy'], forTenant['tier-down']]).toEqual([undefined, undefined]);
    expect(plan({ route: 'chat' })['tier-down']).toBe(
      'the litellm gateway cannot set policy.modelTier (for a whole route: LiteLLM aliases models per team or key)',
    );
    // The Control API plans every step.
    const [onControlApi] = routeAlerts([alert({ route: 'chat' })], [loaded!], {
      cooldownMs: 0,
      gateway: 'control-api',
    });
    expect(onControlApi?.outcome === 'routed' && onControlApi.plan.steps.map(({ skip }) => skip)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('a plan for a gateway that lacks a step without unsupported: skip is refused, not started', () => {
    const { playbook: loaded } = parsePlaybook(FILE, playbook());
    const [decision] = routeAlerts([alert({ route: 'chat', tenant: 'acme' })], [loaded!], {
      cooldownMs: 0,
      gateway: 'litellm',
    });
    expect(decision?.outcome).toBe('rejected');
    expect(decision?.outcome === 'rejected' && decision.reason).toMatch(
      /^step aggressive-cache: the litellm gateway cannot set policy.cacheMode .*; give the step unsupported: skip, or remove it$/,
    );
  });

  test.each(GATEWAY_KINDS)('the shipped playbooks load for a %s gateway', (gateway) => {
    expect(loadPlaybooks('playbooks', { gateway }).length).toBeGreaterThan(0);
  });

  test('knobs by scope: quotas are a tenant’s, region weights a route’s, a named route the whole route', () => {
    const quota = lackedKnobs('litellm', 'gateway.setTenantQuota', { quota: { tokensPerDay: 1, costPerDayUsd: 5 } });
    expect(quota.map(({ knob }) => knob)).toEqual(['quota.tokensPerDay']);
    expect(quota[0]?.why).toContain('tokens per minute');
    expect(lackedKnobs('litellm', 'gateway.setRegionWeights', { weights: { a: 1 } })).toEqual([]);
    expect(lackedKnobs('litellm', 'gateway.setRoutePolicy', { route: 'chat', policy: { maxInputTokens: 1 } })).toEqual(
      [],
    );
    const [perTenant] = lackedKnobs('litellm', 'gateway.setRoutePolicy', { policy: { maxInputTokens: 1 } }, 'acme');
    expect(perTenant?.knob).toBe('policy.maxInputTokens');
    expect(perTenant?.why).toContain('per tenant');
    expect(lackedKnobs('litellm', 'kubernetes.scaleDeployment', { replicas: 3 })).toEqual([]);
  });
});

test('docs/gateways.md prints the knob table the code holds', () => {
  expect(readFileSync('docs/gateways.md', 'utf8')).toContain(knobTable());
});
