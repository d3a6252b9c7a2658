// A playbook's staged rollback as written (playbook/rollback-schema.ts), checked at load (playbook-load.ts) and planned
// (plan.ts), and the part-way steps of the actions that can come back in stages (ActionSpec.stepBack).
import fc from 'fast-check';
import { WEIGHT_SUM_TOLERANCE } from '../../gateway/control-api';
import { planRun } from '../../playbook/plan';
import { parsePlaybook } from '../../playbook/playbook-load';
import { stepBackParams, stepsBack } from '../../playbook/step-registry';
import { targetOf } from '../../alerts/target';
import { alert } from '../helpers/alerts';

const CAPACITY_STEPS = `steps:
  - id: raise-ceiling
    action: kubernetes.setHpaBounds
    params: { maxReplicas: 24 }
  - id: scale-out
    action: kubernetes.scaleDeployment
    params: { addReplicas: 4, maxReplicas: 24 }
  - id: defer-batch
    action: kubernetes.suspendBatch
    params: { selector: finops-soar.io/deferrable=true }
  - id: shift
    action: gateway.setRegionWeights
    params: { route: chat, weights: { us-east-1: 0.3, eu-west-1: 0.7 } }
  - id: current
    check: kubernetes.getDeployment
`;

const playbook = (rollback: string) =>
  parsePlaybook(
    'playbooks/capacity.yaml',
    `name: capacity\ndescription: d\nseverity: S2\nmatch: [alertname="GPUSaturatedQueueGrowing"]\ntarget: deployment\n${CAPACITY_STEPS}${rollback}`,
  );

describe('a staged rollback, as written', () => {
  test('stages, windows, a guard and holds are planned with their defaults and the alert rendered in', () => {
    const { playbook: loaded, problems } = playbook(`rollback:
  stages:
    - { undo: [shift], by: 0.5 }
    - { undo: [shift] }
    - { undo: [scale-out, raise-ceiling], by: 0.5 }
    - { undo: [scale-out, raise-ceiling, defer-batch] }
  guard:
    measure:
      check: prometheus.query
      params: { query: 'max(gpu_utilization_ratio{deployment="{{ labels.deployment }}"})' }
    breaksAbove: 0.9
`);
    expect(problems).toEqual([]);
    const firing = alert({ alertname: 'GPUSaturatedQueueGrowing', namespace: 'inference', deployment: 'vllm-a' });
    const found = targetOf(loaded!.spec.target, firing.labels);
    if (!found.ok) throw new Error(`no target: ${found.missing.join(', ')}`);
    const planned = planRun(loaded!, firing, found.target, { cooldownMs: 1_000 });
    expect(planned.ok && planned.plan.rollback).toEqual({
      stages: [
        { undo: ['shift'], by: 0.5 },
        { undo: ['shift'], by: 1 },
        { undo: ['scale-out', 'raise-ceiling'], by: 0.5 },
        { undo: ['scale-out', 'raise-ceiling', 'defer-batch'], by: 1 },
      ],
      stabiliseMs: 300_000,
      guard: {
        measure: {
          check: 'prometheus.query',
          params: { query: 'max(gpu_utilization_ratio{deployment="vllm-a"})' },
          fact: 'value',
        },
        breaksAbove: 0.9,
        breaksBelow: undefined,
        everyMs: 60_000,
      },
      holdMs: 900_000,
      maxHoldMs: 7_200_000,
    });
  });

  test.each([
    [
      'a step that is not there',
      `  stages: [{ undo: [scale-up] }]`,
      'rollback.stages[0].undo[0]: "scale-up" is not a step of this playbook',
    ],
    [
      'a step that changes nothing',
      `  stages: [{ undo: [current] }]`,
      'rollback.stages[0].undo[0]: "current" changes nothing (only action and adapt steps come back)',
    ],
    [
      'part of the way for an action that cannot step',
      `  stages: [{ undo: [defer-batch], by: 0.5 }, { undo: [defer-batch] }]`,
      'rollback.stages[0].by: "defer-batch" (kubernetes.suspendBatch) comes back all at once; only gateway.setRegionWeights, kubernetes.scaleDeployment, kubernetes.setHpaBounds come back part of the way: leave by out, or name only those here',
    ],
    [
      'a later stage that does not go further',
      `  stages: [{ undo: [scale-out], by: 0.5 }, { undo: [scale-out], by: 0.5 }, { undo: [scale-out] }]`,
      'rollback.stages[1].by: "scale-out" came back by 0.5 at stage 1 already; a later stage must take it further (a larger by)',
    ],
    [
      'a step left part of the way',
      `  stages: [{ undo: [scale-out], by: 0.5 }]`,
      'rollback.stages[0].undo[0]: "scale-out" only comes back 0.5 of the way; add a later stage that undoes it with by: 1',
    ],
    [
      'a hold longer than its ceiling',
      `  stages: [{ undo: [scale-out] }]\n  hold: 3h`,
      'rollback.hold: is longer than rollback.maxHold; the hold only grows up to maxHold',
    ],
    [
      'a guard that gives no verdict',
      `  stages: [{ undo: [scale-out] }]\n  guard: { measure: { check: prometheus.query, params: { query: up } } }`,
      'give exactly one of breaksAbove or breaksBelow',
    ],
    [
      'a guard check that does not fit the target',
      `  stages: [{ undo: [scale-out] }]\n  guard: { measure: { check: gateway.getTenantQuota }, breaksBelow: 1 }`,
      "rollback.guard.measure.check: gateway.getTenantQuota acts on tenant or route targets, but this playbook's target is deployment",
    ],
  ])('refused at load, with the file, the line, the field and the fix: %s', (_case, rollback, message) => {
    const { playbook: loaded, problems } = playbook(`rollback:\n${rollback}\n`);
    expect(loaded).toBeUndefined();
    expect(problems).toEqual([expect.stringMatching(/^playbooks\/capacity\.yaml:\d+:\d+: /)]);
    expect(problems[0]).toContain(message);
  });
});

describe('part of the way back', () => {
  test('only actions that set a number step; the others come back all at once', () => {
    expect(
      ['kubernetes.scaleDeployment', 'kubernetes.setHpaBounds', 'gateway.setRegionWeights'].every((a) =>
        stepsBack(a as never),
      ),
    ).toBe(true);
    expect(stepsBack('kubernetes.suspendBatch')).toBe(false);
    expect(stepsBack('gateway.setRoutePolicy')).toBe(false);
  });

  test('replicas and autoscaler bounds step in whole replicas, as the HPA scales in', () => {
    expect(stepBackParams('kubernetes.scaleDeployment', { replicas: 10 }, { replicas: 14 }, 0.5)).toEqual({
      replicas: 12,
    });
    expect(stepBackParams('kubernetes.scaleDeployment', { replicas: 10 }, { replicas: 13 }, 0.5)).toEqual({
      replicas: 12,
    });
    expect(stepBackParams('kubernetes.scaleDeployment', { replicas: 10 }, { replicas: 14 }, 1)).toEqual({
      replicas: 10,
    });
    expect(
      stepBackParams('kubernetes.setHpaBounds', { hpa: 'a', maxReplicas: 20 }, { hpa: 'a', maxReplicas: 24 }, 0.5),
    ).toEqual({ hpa: 'a', maxReplicas: 22 });
  });

  test('region weights step toward the split before, and always add up to 1', () => {
    expect(
      stepBackParams(
        'gateway.setRegionWeights',
        { route: 'chat', weights: { 'us-east-1': 0.6, 'eu-west-1': 0.4 } },
        { route: 'chat', weights: { 'us-east-1': 0.3, 'eu-west-1': 0.7 } },
        0.5,
      ),
    ).toEqual({ route: 'chat', weights: { 'eu-west-1': 0.55, 'us-east-1': 0.45 } });
    const split = fc
      .array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 5 })
      .filter((parts) => parts.some((part) => part > 0))
      .map((parts) => {
        const total = parts.reduce((sum, part) => sum + part, 0);
        return Object.fromEntries(parts.map((part, index) => [`region-${index}`, part / total]));
      });
    fc.assert(
      fc.property(split, split, fc.double({ min: 0.01, max: 1, noNaN: true }), (before, applied, by) => {
        const { weights } = stepBackParams(
          'gateway.setRegionWeights',
          { weights: before },
          { weights: applied },
          by,
        ) as {
          weights: Record<string, number>;
        };
        const sum = Object.values(weights).reduce((total, weight) => total + weight, 0);
        expect(Math.abs(sum - 1)).toBeLessThanOrEqual(WEIGHT_SUM_TOLERANCE);
        for (const [region, weight] of Object.entries(weights)) {
          const ends = [before[region] ?? 0, applied[region] ?? 0];
          // Within the two splits, give or take the rounding to four decimals the largest share absorbs.
          expect(weight).toBeGreaterThanOrEqual(Math.min(...ends) - 0.001);
          expect(weight).toBeLessThanOrEqual(Math.max(...ends) + 0.001);
        }
      }),
    );
  });
});
