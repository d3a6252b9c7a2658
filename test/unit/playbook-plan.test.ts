import type { Alert } from '../../alerts/alertmanager';
import { targetOf, type Target, type TargetKindName } from '../../alerts/target';
import { objectsOf } from '../../playbook/step-registry';
import { join } from 'node:path';
import { loadPlaybooks, parsePlaybook } from '../../playbook/playbook-load';
import { planRun, renderTemplates } from '../../playbook/plan';
import type { Playbook } from '../../playbook/playbook-schema';

const ALERT: Alert = {
  status: 'firing',
  labels: { alertname: 'LLMSpendBurnRateHigh', route: 'chat', tenant: 'acme', severity: 'S2', cap: '4096' },
  annotations: { summary: 'Spend is 14x the budget', runbook_url: 'https://runbooks.example/cost' },
  startsAt: '2026-11-28T10:00:00.123456789Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: '',
  fingerprint: 'fp1',
};
const TARGET: Target = { kind: 'route', key: 'route=chat,tenant=acme', labels: { route: 'chat', tenant: 'acme' } };
const DEFAULTS = { cooldownMs: 300_000 };

function playbook(yaml: string): Playbook {
  const { playbook: parsed, problems } = parsePlaybook('playbooks/test.yaml', yaml);
  if (!parsed) throw new Error(problems.join('\n'));
  return parsed;
}

const header = (extra = '', severity = 'S2') => `name: test-plan
description: A playbook to plan.
severity: ${severity}
match: [alertname="LLMSpendBurnRateHigh"]
target: route
${extra}steps:
`;

const errorOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
};

describe('renderTemplates', () => {
  test('replaces {{ labels.X }} and {{ annotations.X }}, with or without spaces', () => {
    expect(renderTemplates('{{ labels.route }}', ALERT)).toBe('chat');
    expect(renderTemplates('{{labels.tenant}}', ALERT)).toBe('acme');
    expect(renderTemplates('{{   annotations.summary   }}', ALERT)).toBe('Spend is 14x the budget');
    expect(renderTemplates('see {{ annotations.runbook_url }}', ALERT)).toBe('see https://runbooks.example/cost');
  });

  test('several expressions in one string, and text around them', () => {
    expect(
      renderTemplates(
        '{{ labels.alertname }} on {{ labels.route }} for {{ labels.tenant }}: {{ labels.route }}',
        ALERT,
      ),
    ).toBe('LLMSpendBurnRateHigh on chat for acme: chat');
    expect(renderTemplates('{{ labels.route }}{{ labels.tenant }}', ALERT)).toBe('chatacme');
  });

  test('strings without templates, and non-strings, are unchanged', () => {
    expect(renderTemplates('plain text', ALERT)).toBe('plain text');
    expect(renderTemplates('', ALERT)).toBe('');
    expect(renderTemplates(8192, ALERT)).toBe(8192);
    expect(renderTemplates(true, ALERT)).toBe(true);
    expect(renderTemplates(null, ALERT)).toBeNull();
    expect(renderTemplates(undefined, ALERT)).toBeUndefined();
  });

  test('walks nested objects and arrays, keeping their shape; keys are not templates', () => {
    const params = {
      policy: { modelTier: '{{ labels.tenant }}-tier', maxInputTokens: 8192, fallbackModel: null },
      tags: ['{{ labels.route }}', 42, ['{{ annotations.summary }}', { deep: '{{ labels.severity }}' }]],
      '{{ labels.route }}': 'key stays',
    };
    expect(renderTemplates(params, ALERT)).toEqual({
      policy: { modelTier: 'acme-tier', maxInputTokens: 8192, fallbackModel: null },
      tags: ['chat', 42, ['Spend is 14x the budget', { deep: 'S2' }]],
      '{{ labels.route }}': 'key stays',
    });
  });

  test('does not change its input', () => {
    const params = { policy: { modelTier: '{{ labels.tenant }}' }, list: ['{{ labels.route }}'] };
    const copy = structuredClone(params);
    renderTemplates(params, ALERT);
    expect(params).toEqual(copy);
  });

  test('a rendered value is always text, even when it looks like a number', () => {
    expect(renderTemplates({ cap: '{{ labels.cap }}' }, ALERT)).toEqual({ cap: '4096' });
  });

  test('a missing label or annotation is an error that names it', () => {
    expect(errorOf(() => renderTemplates('{{ labels.namespace }}', ALERT))).toBe(
      'the alert has no label "namespace" for {{ labels.namespace }}',
    );
    expect(errorOf(() => renderTemplates({ a: ['{{ annotations.description }}'] }, ALERT))).toBe(
      'the alert has no annotation "description" for {{ annotations.description }}',
    );
  });

  test('given a list for gaps (text), a missing value renders as a placeholder and is noted there', () => {
    const gaps: string[] = [];
    expect(renderTemplates('route {{ labels.route }}: {{ annotations.nope }}', ALERT, gaps)).toBe(
      'route chat: (no annotations.nope)',
    );
    expect(gaps).toEqual(['the alert has no annotation "nope" for {{ annotations.nope }}']);
  });

  test('an empty label value renders as empty text (it exists)', () => {
    expect(renderTemplates('[{{ labels.empty }}]', { labels: { empty: '' }, annotations: {} })).toBe('[]');
  });

  test('a label named like an Object.prototype member is missing when the alert lacks it', () => {
    expect(errorOf(() => renderTemplates('{{ labels.constructor }}', ALERT))).toBe(
      'the alert has no label "constructor" for {{ labels.constructor }}',
    );
    expect(errorOf(() => renderTemplates('{{ annotations.toString }}', ALERT))).toBe(
      'the alert has no annotation "toString" for {{ annotations.toString }}',
    );
  });

  test.each([
    ['a bare name', '{{ route }}'],
    ['another source', '{{ env.HOME }}'],
    ['a nested path', '{{ labels.route.length }}'],
    ['a filter', '{{ labels.route | upper }}'],
    ['a call', '{{ process.exit() }}'],
    ['an index', '{{ labels["route"] }}'],
    ['an empty expression', '{{}}'],
    ['an arithmetic expression', '{{ 1 + 1 }}'],
  ])('%s is not a template expression', (_case, template) => {
    expect(errorOf(() => renderTemplates(`x ${template} y`, ALERT))).toMatch(
      /^\{\{ .* \}\} is not a template expression; write \{\{ labels\.NAME \}\} or \{\{ annotations\.NAME \}\}$/,
    );
  });

  test('values are data, not code: a label holding a template or replacement patterns is inserted as is', () => {
    const alert = {
      labels: { sneaky: '{{ labels.secret }}', dollars: "$& $1 $$ $` $'", secret: 'nope' },
      annotations: {},
    };
    expect(renderTemplates('{{ labels.sneaky }}', alert)).toBe('{{ labels.secret }}');
    expect(renderTemplates('<{{ labels.dollars }}>', alert)).toBe("<$& $1 $$ $` $'>");
  });

  test('rendering the same template twice gives the same result (no regex state leaks between calls)', () => {
    const template = '{{ labels.route }}/{{ labels.tenant }}';
    expect([
      renderTemplates(template, ALERT),
      renderTemplates(template, ALERT),
      renderTemplates([template, template], ALERT),
    ]).toEqual(['chat/acme', 'chat/acme', ['chat/acme', 'chat/acme']]);
  });
});

describe('planRun', () => {
  const FULL = playbook(`${header('cooldown: 10m\n')}  - id: current
    check: gateway.getRoutePolicy
  - id: cap
    description: Cap the context.
    when: { facts: [{ fact: current.maxInputTokens, above: 4096 }] }
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 4096, modelTier: "{{ labels.tenant }}-distilled" } }
  - id: tell
    notify: { to: [finops, product], message: "{{ labels.alertname }} on {{ labels.route }}: {{ annotations.summary }}" }
  - id: ask
    approval: { summary: "Throttle {{ labels.tenant }}?", timeout: 15m }
  - id: wait
    waitUntilResolved: true
  - id: room
    warRoom: { name: "inc-{{ labels.route }}", invite: [sre] }
`);

  test('resolves every step against the alert, in order', () => {
    const result = planRun(FULL, ALERT, TARGET, DEFAULTS);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.plan.playbook).toEqual({
      name: 'test-plan',
      digest: FULL.digest,
      file: 'playbooks/test.yaml',
      severity: 'S2',
      description: 'A playbook to plan.',
      dryRun: false,
    });
    expect(result.plan.target).toBe(TARGET);
    expect(result.plan.escalation).toBeUndefined();
    expect(result.plan.steps).toEqual([
      {
        id: 'current',
        description: undefined,
        when: undefined,
        kind: 'check',
        check: 'gateway.getRoutePolicy',
        params: {},
      },
      {
        id: 'cap',
        description: 'Cap the context.',
        when: { facts: [{ fact: 'current.maxInputTokens', above: 4096 }] },
        kind: 'action',
        action: 'gateway.setRoutePolicy',
        params: { policy: { maxInputTokens: 4096, modelTier: 'acme-distilled' } },
        objects: ['gateway/policy/chat/acme'],
      },
      {
        id: 'tell',
        description: undefined,
        when: undefined,
        kind: 'notify',
        to: ['finops', 'product'],
        message: 'LLMSpendBurnRateHigh on chat: Spend is 14x the budget',
      },
      {
        id: 'ask',
        description: undefined,
        when: undefined,
        kind: 'approval',
        summary: 'Throttle acme?',
        timeoutMs: 900_000,
        onTimeout: 'approve',
        onReject: 'stop',
        to: ['approvals'],
        approvalsNeeded: 1,
        remindAfterMs: 450_000,
        escalate: null,
      },
      { id: 'wait', description: undefined, when: undefined, kind: 'waitUntilResolved' },
      { id: 'room', description: undefined, when: undefined, kind: 'warRoom', name: 'inc-chat', invite: ['sre'] },
    ]);
  });

  test('the cooldown comes from the playbook when it sets one', () => {
    const result = planRun(FULL, ALERT, TARGET, DEFAULTS);
    expect(result.ok && result.plan.cooldownMs).toBe(600_000);
  });

  test('otherwise from the engine defaults', () => {
    const noCooldown = playbook(`${header()}  - id: tell\n    notify: { to: [a], message: hi }\n`);
    expect(noCooldown.spec.cooldown).toBeUndefined();
    const result = planRun(noCooldown, ALERT, TARGET, { cooldownMs: 42_000 });
    expect(result.ok && result.plan.cooldownMs).toBe(42_000);
  });

  test('a zero cooldown in the playbook is kept, not replaced by the default', () => {
    const immediate = playbook(`${header('cooldown: 0s\n')}  - id: tell\n    notify: { to: [a], message: hi }\n`);
    const result = planRun(immediate, ALERT, TARGET, DEFAULTS);
    expect(result.ok && result.plan.cooldownMs).toBe(0);
  });

  test('dry run: the playbook or the engine default turns it on; neither turns the other off', () => {
    const step = '  - id: tell\n    notify: { to: [a], message: hi }\n';
    const dry = playbook(`${header('dryRun: true\n')}${step}`);
    const wet = playbook(`${header()}${step}`);
    const dryRun = (p: Playbook, engineDryRun?: boolean) => {
      const result = planRun(p, ALERT, TARGET, {
        cooldownMs: 1,
        ...(engineDryRun === undefined ? {} : { dryRun: engineDryRun }),
      });
      return result.ok && result.plan.playbook.dryRun;
    };
    expect([dryRun(wet), dryRun(wet, false), dryRun(wet, true), dryRun(dry), dryRun(dry, false)]).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
  });

  test('an approval nobody answers: reject for S1 playbooks, approve otherwise, unless the step says', () => {
    const steps =
      '  - id: ask\n    approval: { summary: ok?, timeout: 1m }\n  - id: ask-explicit\n    approval: { summary: ok?, timeout: 1m, onTimeout: approve }\n';
    const onTimeout = (severity: string) => {
      const result = planRun(playbook(`${header('', severity)}${steps}`), ALERT, TARGET, DEFAULTS);
      return result.ok
        ? result.plan.steps.map((s) => (s.kind === 'approval' ? s.onTimeout : undefined))
        : result.problem;
    };
    expect(onTimeout('S1')).toEqual(['reject', 'approve']);
    expect(onTimeout('S2')).toEqual(['approve', 'approve']);
    expect(onTimeout('S3')).toEqual(['approve', 'approve']);
  });

  test('rendered params that are invalid are reported with the step and the field', () => {
    const templated = playbook(
      `${header()}  - id: cap\n    action: gateway.setRoutePolicy\n    params: { policy: { maxInputTokens: "{{ labels.cap }}" } }\n`,
    );
    const result = planRun(templated, ALERT, TARGET, DEFAULTS);
    expect(result).toEqual({
      ok: false,
      problem:
        'step cap: params.policy.maxInputTokens: Invalid input: expected number, received string. Expected: the largest prompt, in tokens, the route accepts (null: no cap)',
    });
  });

  test('a templated value that renders empty is refused by the action', () => {
    const templated = playbook(
      `${header()}  - id: tier\n    action: gateway.setRoutePolicy\n    params: { policy: { modelTier: "{{ labels.tier }}" } }\n`,
    );
    const result = planRun(templated, { ...ALERT, labels: { ...ALERT.labels, tier: '' } }, TARGET, DEFAULTS);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toMatch(/^step tier: params\.policy\.modelTier: Too small/);
  });

  test('a templated value that renders to a valid one is accepted', () => {
    const templated = playbook(
      `${header()}  - id: tier\n    action: gateway.setRoutePolicy\n    params: { policy: { modelTier: "{{ labels.tier }}" } }\n`,
    );
    const result = planRun(templated, { ...ALERT, labels: { ...ALERT.labels, tier: 'distilled' } }, TARGET, DEFAULTS);
    expect(result.ok && result.plan.steps[0]).toMatchObject({
      kind: 'action',
      params: { policy: { modelTier: 'distilled' } },
    });
  });

  test('text never stops a run: a missing label or annotation reads as a placeholder, noted with its step', () => {
    const gaps = playbook(
      `${header()}  - id: first\n    notify: { to: [a], message: "{{ labels.namespace }} is {{ labels.route }}" }\n` +
        `  - id: ask\n    approval: { summary: "Throttle ({{ annotations.nope }})", timeout: 10m, to: [a] }\n` +
        `  - id: room\n    warRoom: { name: "inc-{{ labels.zone }}", invite: [a] }\n`,
    );
    const result = planRun(gaps, ALERT, TARGET, DEFAULTS);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.plan.steps).toMatchObject([
      { id: 'first', message: '(no labels.namespace) is chat' },
      { id: 'ask', summary: 'Throttle ((no annotations.nope))' },
      { id: 'room', name: 'inc-(no labels.zone)' },
    ]);
    expect(result.plan.textGaps).toEqual([
      'step first: the alert has no label "namespace" for {{ labels.namespace }}',
      'step ask: the alert has no annotation "nope" for {{ annotations.nope }}',
      'step room: the alert has no label "zone" for {{ labels.zone }}',
    ]);
  });

  test('a plan with every value present has no text gaps', () => {
    const full = playbook(`${header()}  - id: tell\n    notify: { to: [a], message: "{{ annotations.summary }}" }\n`);
    const result = planRun(full, ALERT, TARGET, DEFAULTS);
    expect(result.ok && result.plan.textGaps).toBeUndefined();
  });

  test('a label that params need refuses the alert, naming the step; the first problem wins', () => {
    const twoProblems = playbook(
      `${header()}  - id: first\n    action: gateway.setRoutePolicy\n    params: { route: "{{ labels.namespace }}", policy: { cacheMode: aggressive } }\n` +
        `  - id: second\n    action: gateway.setRoutePolicy\n    params: { route: "{{ labels.nope }}", policy: { cacheMode: aggressive } }\n`,
    );
    expect(planRun(twoProblems, ALERT, TARGET, DEFAULTS)).toEqual({
      ok: false,
      problem: 'step first: the alert has no label "namespace" for {{ labels.namespace }}',
    });
  });

  test("the seed's cost-s2 plans for an alert without a summary: its approval shows the placeholder", () => {
    const [costS2] = loadPlaybooks(join(__dirname, '..', '..', 'playbooks')).filter(
      ({ spec }) => spec.name === 'cost-s2',
    );
    const annotations = { runbook_url: 'https://runbooks.example/cost' };
    const result = planRun(
      costS2!,
      { ...ALERT, labels: { ...ALERT.labels, alertname: 'LLMInputTokensPerRequestHigh' }, annotations },
      TARGET,
      DEFAULTS,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.plan.steps.find((step) => step.kind === 'approval')).toMatchObject({
      summary: expect.stringContaining('((no annotations.summary))') as unknown,
    });
    expect(result.plan.textGaps).toEqual([
      expect.stringContaining('the alert has no annotation "summary" for {{ annotations.summary }}'),
    ]);
  });

  test('an invalid template expression in a message reports the step', () => {
    const bad = playbook(`${header()}  - id: tell\n    notify: { to: [a], message: "{{ labels.route | upper }}" }\n`);
    expect(planRun(bad, ALERT, TARGET, DEFAULTS)).toEqual({
      ok: false,
      problem:
        'step tell: {{ labels.route | upper }} is not a template expression; write {{ labels.NAME }} or {{ annotations.NAME }}',
    });
  });

  test('the plan is plain data: it survives a JSON round trip unchanged (it is the run snapshot)', () => {
    const result = planRun(FULL, ALERT, TARGET, DEFAULTS);
    if (!result.ok) throw new Error(result.problem);
    expect(JSON.parse(JSON.stringify(result.plan))).toEqual(result.plan);
    expect(JSON.parse(JSON.stringify(result.plan))).toMatchObject({
      cooldownMs: 600_000,
      steps: [{ id: 'current' }, { id: 'cap' }, { id: 'tell' }, { id: 'ask' }, { id: 'wait' }, { id: 'room' }],
    });
  });

  test('planning does not change the playbook', () => {
    const before = structuredClone(FULL);
    planRun(FULL, ALERT, TARGET, DEFAULTS);
    expect(FULL).toEqual(before);
  });
});

describe('the shared objects a change touches (one run holds each at a time)', () => {
  const on = (kind: TargetKindName, labels: Record<string, string>) => {
    const result = targetOf(kind, labels);
    if (!result.ok) throw new Error('target');
    return result.target;
  };
  const route = on('route', { route: 'chat', tenant: 'acme' });
  const deployment = on('deployment', { namespace: 'inference', deployment: 'llm-premium-us-east-1' });

  test.each([
    ['a tenant override', 'gateway.setRoutePolicy', route, { policy: { priority: 1 } }, ['gateway/policy/chat/acme']],
    [
      'a named route, for every tenant',
      'gateway.setRoutePolicy',
      deployment,
      { route: 'code-assist', policy: { priority: 1 } },
      ['gateway/policy/code-assist'],
    ],
    [
      "the alert's tenant's quota",
      'gateway.setTenantQuota',
      route,
      { quota: { tokensPerDay: 1 } },
      ['gateway/quota/acme'],
    ],
    [
      "a route's region weights",
      'gateway.setRegionWeights',
      deployment,
      { route: 'chat', weights: { 'us-east-1': 1 } },
      ['gateway/regions/chat'],
    ],
    [
      'a deployment',
      'kubernetes.scaleDeployment',
      deployment,
      { addReplicas: 1 },
      ['kubernetes/deployments/inference/llm-premium-us-east-1'],
    ],
    [
      'its autoscaler',
      'kubernetes.setHpaBounds',
      deployment,
      { maxReplicas: 4 },
      ['kubernetes/hpa/inference/llm-premium-us-east-1'],
    ],
    [
      'the batch jobs a selector picks',
      'kubernetes.suspendBatch',
      deployment,
      { selector: 'tier=batch' },
      ['kubernetes/batch/inference/tier=batch'],
    ],
    ['a bucket', 'storage.addLifecycleRules', on('bucket', { bucket: 'logs' }), { rules: [] }, ['s3/logs']],
  ] as const)('%s', (_case, action, target, params, objects) => {
    expect(objectsOf(action, target, params)).toEqual(objects);
  });
});

describe('four eyes', () => {
  const s1 = (allowed: string, extra = '') =>
    parsePlaybook(
      'playbooks/s1.yaml',
      `name: s1\ndescription: d\nseverity: S1\nmatch: [alertname="A"]\ntarget: route\nsteps:\n  - id: ask\n    approval: { summary: ok?, timeout: 10m${extra} }\n${allowed}`,
    ).playbook!;
  const neededFor = (playbook: Playbook) => {
    const result = planRun(
      playbook,
      { labels: { route: 'chat', tenant: 'acme' }, annotations: {} } as unknown as Alert,
      TARGET,
      { cooldownMs: 1 },
    );
    if (!result.ok) throw new Error(result.problem);
    return (result.plan.steps[0] as { approvalsNeeded: number }).approvalsNeeded;
  };

  test.each([
    [
      'a breaker opened',
      '  - { id: b, action: gateway.setRoutePolicy, params: { policy: { circuit: { state: open, failMode: open } } } }',
      2,
    ],
    ['a rate limit', '  - { id: b, action: gateway.setRoutePolicy, params: { policy: { rateLimitRps: 5 } } }', 2],
    ['a quota', '  - { id: b, action: gateway.setTenantQuota, params: { quota: { tokensPerDay: 5 } } }', 2],
    [
      'a cache change',
      '  - { id: b, action: gateway.setRoutePolicy, params: { policy: { cacheMode: aggressive } } }',
      1,
    ],
    [
      'a rate limit lifted',
      '  - { id: b, action: gateway.setRoutePolicy, params: { policy: { rateLimitRps: null } } }',
      1,
    ],
  ])('an S1 approval allowing %s needs %s people', (_case, allowed, needed) => {
    expect(neededFor(s1(allowed))).toBe(needed);
  });

  test('a playbook may say how many; a destructive step after a later approval is that approval’s business', () => {
    expect(
      neededFor(
        s1(
          '  - { id: b, action: gateway.setTenantQuota, params: { quota: { tokensPerDay: 5 } } }',
          ', approvalsNeeded: 1',
        ),
      ),
    ).toBe(1);
    const later = s1(
      '  - { id: c, action: gateway.setRoutePolicy, params: { policy: { cacheMode: off } } }\n  - { id: again, approval: { summary: more?, timeout: 5m } }\n  - { id: d, action: gateway.setRoutePolicy, params: { policy: { rateLimitRps: 5 } } }',
    );
    expect(neededFor(later)).toBe(1);
  });
});

describe('query templates (prometheus.query), escaped for where each value stands', () => {
  const planned = (query: string, route: string) => {
    const result = planRun(
      playbook(
        `${header()}  - id: measure\n    check: prometheus.query\n    params:\n      query: ${JSON.stringify(query)}\n`,
      ),
      { ...ALERT, labels: { ...ALERT.labels, route } },
      TARGET,
      DEFAULTS,
    );
    return result.ok ? (result.plan.steps[0] as { params: { query: string } }).params.query : result.problem;
  };

  test.each([
    [
      'in a double-quoted matcher',
      'x{route="{{ labels.route }}"}',
      'a"} or vector(1)\\',
      'x{route="a\\"} or vector(1)\\\\"}',
    ],
    ['in a single-quoted matcher', "x{route='{{ labels.route }}'}", "it's\n", "x{route='it\\'s\\u000a'}"],
    [
      'after =~, as an exact regular expression',
      'x{route=~"{{ labels.route }}"}',
      'a.b|c',
      'x{route=~"a\\\\.b\\\\|c"}',
    ],
    ['a plain value, unchanged', 'x{route="{{ labels.route }}"}', 'chat', 'x{route="chat"}'],
  ])('%s', (_where, query, route, expected) => {
    expect(planned(query, route)).toBe(expected);
  });

  test('outside a quoted string, or in a raw one, a template is refused saying where to put it', () => {
    for (const query of ['x > {{ labels.cap }}', 'x{route=`{{ labels.route }}`}', 'x # "\n > {{ labels.cap }}'])
      expect(planned(query, 'chat')).toMatch(
        /stands outside a quoted string in the query, where no value can be escaped; write it inside one, e.g. route="{{ labels\.(cap|route) }}"$/,
      );
  });
});

describe('label selector templates (kubernetes.suspendBatch)', () => {
  const DEPLOYMENT: Target = {
    kind: 'deployment',
    key: 'deployment=vllm,namespace=inference',
    labels: { deployment: 'vllm', namespace: 'inference' },
  };
  const planned = (team: string) => {
    const result = planRun(
      playbook(
        `name: defer\ndescription: Defer a team's batch.\nseverity: S2\nmatch: [alertname="LLMSpendBurnRateHigh"]\ntarget: deployment\nsteps:\n  - id: defer\n    action: kubernetes.suspendBatch\n    params: { selector: "workload=batch,team={{ labels.team }}" }\n`,
      ),
      { ...ALERT, labels: { ...ALERT.labels, team } },
      DEPLOYMENT,
      DEFAULTS,
    );
    return result.ok ? (result.plan.steps[0] as { params: { selector: string } }).params.selector : result.problem;
  };

  test('a Kubernetes label value goes in as it is', () => {
    expect(planned('ml-platform.v2')).toBe('workload=batch,team=ml-platform.v2');
  });

  test.each(['a,team!=x', 'a b', 'x=y', '-leading', 'x'.repeat(64), 'é'])(
    'a value that could change what the selector picks (%j) refuses to plan, naming the template',
    (team) => {
      expect(planned(team)).toMatch(/\{\{ labels\.team \}\} is ".*", not a Kubernetes label value/);
    },
  );
});
