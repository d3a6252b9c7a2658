import type { Alert } from '../../alerts/alertmanager';
import type { RoutingDecision } from '../../alerts/routing';
import { routeAlert, routeAlerts } from '../../alerts/routing';
import { parsePlaybook } from '../../playbook/playbook-load';
import type { Playbook } from '../../playbook/playbook-schema';

function playbook(yaml: string): Playbook {
  const { playbook: parsed, problems } = parsePlaybook('playbooks/test.yaml', yaml);
  if (!parsed) throw new Error(problems.join('\n'));
  return parsed;
}

const CAP_CONTEXT = playbook(`
name: cap-context
description: Cap the context length of a route.
severity: S2
match:
  - alertname="LLMInputTokensPerRequestHigh"
target: route
steps:
  - id: cap
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 8192 } }
`);

const TELL_TENANT = playbook(`
name: tell-tenant
description: Tell the tenant's owners.
severity: S3
match:
  - alertname=~"LLM.*"
  - severity!="S1"
target: tenant
cooldown: 1m
steps:
  - id: tell
    notify: { to: [finops], message: "{{ labels.alertname }} for {{ labels.tenant }}" }
`);

const SCALE = playbook(`
name: scale
description: Deployment capacity.
severity: S2
match:
  - alertname="VLLMQueueDeep"
target: deployment
steps:
  - id: tell
    notify: { to: [sre], message: "scale {{ labels.namespace }}/{{ labels.deployment }}" }
`);

const NEEDS_SUMMARY = playbook(`
name: needs-summary
description: Uses an annotation.
severity: S3
match:
  - alertname="CacheHitRatioLow"
target: route
steps:
  - id: tell
    notify: { to: [finops], message: "{{ annotations.summary }}" }
`);

const COST_S2 = playbook(`
name: cost-s2
description: Cost S2.
severity: S2
family: cost
match:
  - alertname="LLMSpendBurnRateHigh"
  - severity="S2"
target: route
escalation: { after: 30m, to: cost-s1 }
steps:
  - id: cache
    action: gateway.setRoutePolicy
    params: { policy: { cacheMode: aggressive } }
`);

const costS1 = (step: string) =>
  playbook(`
name: cost-s1
description: Cost S1.
severity: S1
family: cost
match:
  - alertname="LLMSpendBurnRateHigh"
  - severity="S1"
target: route
steps:
${step}`);
const COST_S1 = costS1(`  - id: throttle-note
    notify: { to: [finops], message: "throttle {{ labels.tenant }}" }
`);

const NEEDS_REGION = playbook(`
name: needs-region
description: Uses a label in its params.
severity: S3
match:
  - alertname="CacheHitRatioLow"
target: route
steps:
  - id: shift
    action: gateway.setRoutePolicy
    params: { route: "{{ labels.region }}", policy: { cacheMode: aggressive } }
`);

const PLAYBOOKS = [CAP_CONTEXT, TELL_TENANT, SCALE, NEEDS_SUMMARY];
const DEFAULTS = { cooldownMs: 300_000 };

function alert(labels: Record<string, string>, overrides: Partial<Alert> = {}): Alert {
  return {
    status: 'firing',
    labels,
    annotations: {},
    startsAt: '2026-11-28T10:00:00.123456789Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
    fingerprint: `fp-${Object.values(labels).join('-')}`,
    ...overrides,
  };
}

const summary = (decisions: RoutingDecision[]) =>
  decisions.map((d) =>
    d.outcome === 'routed'
      ? `routed ${d.workflowId}`
      : d.outcome === 'rejected'
        ? `rejected ${d.playbook}: ${d.reason}`
        : 'unrouted',
  );

describe('routeAlert', () => {
  test('an alert no playbook matches is unrouted, and says which alert', () => {
    const a = alert({ alertname: 'Watchdog' });
    expect(routeAlert(a, PLAYBOOKS, DEFAULTS)).toEqual([{ outcome: 'unrouted', alert: a }]);
  });

  test('with no playbooks at all every alert is unrouted', () => {
    expect(
      summary(routeAlert(alert({ alertname: 'LLMInputTokensPerRequestHigh', route: 'chat' }), [], DEFAULTS)),
    ).toEqual(['unrouted']);
  });

  test('a matching alert is routed to one run per playbook × target, with a deterministic workflow id', () => {
    const [decision] = routeAlert(
      alert({ alertname: 'LLMInputTokensPerRequestHigh', route: 'chat', tenant: 'acme', severity: 'S1' }),
      PLAYBOOKS,
      DEFAULTS,
    );
    expect(decision?.outcome).toBe('routed');
    if (decision?.outcome !== 'routed') return;
    expect(decision.workflowId).toBe('playbook/cap-context/route=chat,tenant=acme');
    expect(decision.plan.target).toEqual({
      kind: 'route',
      key: 'route=chat,tenant=acme',
      labels: { route: 'chat', tenant: 'acme' },
    });
    expect(decision.plan.playbook).toMatchObject({
      name: 'cap-context',
      digest: CAP_CONTEXT.digest,
      file: 'playbooks/test.yaml',
      severity: 'S2',
      dryRun: false,
    });
    expect(decision.plan.cooldownMs).toBe(300_000);
    expect(decision.plan.steps).toEqual([
      expect.objectContaining({
        id: 'cap',
        kind: 'action',
        action: 'gateway.setRoutePolicy',
        params: { policy: { maxInputTokens: 8192 } },
        objects: ['gateway/policy/chat/acme'],
      }),
    ]);
  });

  test('the workflow id does not depend on alert labels outside the target, nor on the fingerprint', () => {
    const id = (labels: Record<string, string>, fingerprint: string) => {
      const [decision] = routeAlert(alert(labels, { fingerprint }), [CAP_CONTEXT], DEFAULTS);
      return decision?.outcome === 'routed' ? decision.workflowId : undefined;
    };
    const first = id({ alertname: 'LLMInputTokensPerRequestHigh', route: 'chat', tenant: 'acme', pod: 'a' }, 'fp1');
    expect(first).toBe('playbook/cap-context/route=chat,tenant=acme');
    expect(id({ pod: 'b', tenant: 'acme', route: 'chat', alertname: 'LLMInputTokensPerRequestHigh' }, 'fp2')).toBe(
      first,
    );
    expect(id({ alertname: 'LLMInputTokensPerRequestHigh', route: 'chat' }, 'fp1')).toBe(
      'playbook/cap-context/route=chat',
    );
  });

  test('an alert lacking the target labels is rejected with the playbook and the missing labels', () => {
    const decisions = routeAlert(
      alert({ alertname: 'LLMInputTokensPerRequestHigh', tenant: 'acme' }),
      PLAYBOOKS,
      DEFAULTS,
    );
    expect(summary(decisions)).toEqual([
      'rejected cap-context: a route target needs the label(s) route',
      'routed playbook/tell-tenant/tenant=acme',
    ]);
  });

  test('a deployment target names every missing label', () => {
    expect(summary(routeAlert(alert({ alertname: 'VLLMQueueDeep' }), PLAYBOOKS, DEFAULTS))).toEqual([
      'rejected scale: a deployment target needs the label(s) namespace, deployment',
    ]);
  });

  test('an alert without the annotation a message names still runs: a placeholder stands in, and the plan says so', () => {
    const [decision] = routeAlert(alert({ alertname: 'CacheHitRatioLow', route: 'chat' }), PLAYBOOKS, DEFAULTS);
    expect(decision).toMatchObject({
      outcome: 'routed',
      plan: {
        steps: [{ kind: 'notify', message: '(no annotations.summary)' }],
        textGaps: ['step tell: the alert has no annotation "summary" for {{ annotations.summary }}'],
      },
    });
    const withSummary = routeAlert(
      alert({ alertname: 'CacheHitRatioLow', route: 'chat' }, { annotations: { summary: 'hit ratio 3%' } }),
      PLAYBOOKS,
      DEFAULTS,
    );
    expect(withSummary[0]).toMatchObject({
      outcome: 'routed',
      plan: { steps: [{ kind: 'notify', message: 'hit ratio 3%' }] },
    });
  });

  test("an alert lacking a label that a step's params need is rejected with the step", () => {
    const decisions = routeAlert(alert({ alertname: 'CacheHitRatioLow', route: 'chat' }), [NEEDS_REGION], DEFAULTS);
    expect(summary(decisions)).toEqual([
      'rejected needs-region: step shift: the alert has no label "region" for {{ labels.region }}',
    ]);
  });

  test('several matching playbooks give one decision each, in playbook order', () => {
    const a = alert({ alertname: 'LLMInputTokensPerRequestHigh', route: 'chat', tenant: 'acme', severity: 'S2' });
    const decisions = routeAlert(a, PLAYBOOKS, DEFAULTS);
    expect(summary(decisions)).toEqual([
      'routed playbook/cap-context/route=chat,tenant=acme',
      'routed playbook/tell-tenant/tenant=acme',
    ]);
    expect(decisions.every((d) => d.alert === a)).toBe(true);
    const tellTenant = decisions[1];
    expect(tellTenant?.outcome === 'routed' && tellTenant.plan.cooldownMs).toBe(60_000);
  });

  test('a matcher that excludes the alert leaves that playbook out', () => {
    const decisions = routeAlert(
      alert({ alertname: 'LLMInputTokensPerRequestHigh', route: 'chat', tenant: 'acme', severity: 'S1' }),
      PLAYBOOKS,
      DEFAULTS,
    );
    expect(summary(decisions)).toEqual(['routed playbook/cap-context/route=chat,tenant=acme']);
  });

  test('the dry-run default reaches the plan', () => {
    const [decision] = routeAlert(alert({ alertname: 'LLMInputTokensPerRequestHigh', route: 'chat' }), [CAP_CONTEXT], {
      cooldownMs: 1_000,
      dryRun: true,
    });
    expect(decision?.outcome === 'routed' && decision.plan.playbook.dryRun).toBe(true);
    expect(decision?.outcome === 'routed' && decision.plan.cooldownMs).toBe(1_000);
  });

  test('escalation: the more severe playbook is planned for the same alert and target', () => {
    const [decision] = routeAlert(
      alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat', tenant: 'acme' }),
      [COST_S2, COST_S1],
      DEFAULTS,
    );
    expect(decision?.outcome).toBe('routed');
    if (decision?.outcome !== 'routed') return;
    expect(decision.workflowId).toBe('playbook/cost-s2/route=chat,tenant=acme');
    expect(decision.plan.escalation?.afterMs).toBe(1_800_000);
    expect(decision.plan.escalation?.plan.playbook.name).toBe('cost-s1');
    expect(decision.plan.escalation?.plan.target.key).toBe('route=chat,tenant=acme');
    expect(decision.plan.escalation?.plan.steps).toEqual([
      { id: 'throttle-note', kind: 'notify', to: ['finops'], message: 'throttle acme' },
    ]);
  });

  test('escalation whose text names a missing label still runs; the escalated plan notes the gap', () => {
    const [decision] = routeAlert(
      alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat' }),
      [COST_S2, COST_S1],
      DEFAULTS,
    );
    expect(decision).toMatchObject({
      outcome: 'routed',
      plan: {
        escalation: {
          plan: {
            steps: [{ id: 'throttle-note', message: 'throttle (no labels.tenant)' }],
            textGaps: ['step throttle-note: the alert has no label "tenant" for {{ labels.tenant }}'],
          },
        },
      },
    });
  });

  test('escalation that cannot be planned for the alert rejects the run and says why', () => {
    const [decision] = routeAlert(
      alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat' }),
      [
        COST_S2,
        costS1(`  - id: shift
    action: gateway.setRoutePolicy
    params: { route: "{{ labels.region }}", policy: { cacheMode: aggressive } }
`),
      ],
      DEFAULTS,
    );
    expect(decision).toMatchObject({
      outcome: 'rejected',
      playbook: 'cost-s2',
      reason: 'escalation to cost-s1: step shift: the alert has no label "region" for {{ labels.region }}',
    });
  });

  test('without the escalation playbook loaded, the run has no escalation', () => {
    const [decision] = routeAlert(
      alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', route: 'chat' }),
      [COST_S2],
      DEFAULTS,
    );
    expect(decision?.outcome === 'routed' && decision.plan.escalation).toBeUndefined();
  });
});

describe('routeAlerts', () => {
  test('routes every alert of a notification, in order', () => {
    const alerts = [
      alert({ alertname: 'LLMInputTokensPerRequestHigh', route: 'chat', tenant: 'acme', severity: 'S1' }),
      alert({ alertname: 'Watchdog' }),
      alert({ alertname: 'LLMInputTokensPerRequestHigh', route: 'summarize', severity: 'S1' }),
    ];
    expect(summary(routeAlerts(alerts, PLAYBOOKS, DEFAULTS))).toEqual([
      'routed playbook/cap-context/route=chat,tenant=acme',
      'unrouted',
      'routed playbook/cap-context/route=summarize',
    ]);
  });

  test('two alerts about the same target reach the same run', () => {
    const alerts = [
      alert({
        alertname: 'LLMInputTokensPerRequestHigh',
        route: 'chat',
        tenant: 'acme',
        instance: 'gw-0',
        severity: 'S1',
      }),
      alert({
        alertname: 'LLMInputTokensPerRequestHigh',
        route: 'chat',
        tenant: 'acme',
        instance: 'gw-1',
        severity: 'S1',
      }),
    ];
    const ids = routeAlerts(alerts, [CAP_CONTEXT], DEFAULTS).map((d) =>
      d.outcome === 'routed' ? d.workflowId : d.outcome,
    );
    expect(ids).toEqual(['playbook/cap-context/route=chat,tenant=acme', 'playbook/cap-context/route=chat,tenant=acme']);
  });

  test('no alerts, no decisions', () => {
    expect(routeAlerts([], PLAYBOOKS, DEFAULTS)).toEqual([]);
  });
});
