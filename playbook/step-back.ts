// How a change comes back part of the way, for the actions that set a number (replicas, bounds, weights): a staged
// rollback steps with it (workflows/playbook-run/staged-rollback.ts). Pure and free of schemas on purpose: workflow
// code imports it, and the step specs (which carry zod) must stay out of the workflow bundle, where they cost every
// cached run memory (5,000 live runs took 3.5 GiB with them, 1 GiB without: bench/README.md).

/** `by` (0 to 1) of the way back from `applied` to `undo`. */
export const partWay = (applied: number, undo: number, by: number) => applied + (undo - applied) * by;

type HpaBounds = { hpa?: string; minReplicas?: number; maxReplicas?: number };
type RegionWeightsParams = { route?: string; weights: Record<string, number> };

/**
 * Each region's share part of the way back, to four decimals; the largest share takes the rounding, so the shares
 * still add up to 1 (the Control API refuses weights off by more than WEIGHT_SUM_TOLERANCE).
 */
function weightsPartWay(applied: Record<string, number>, undo: Record<string, number>, by: number) {
  const regions = [...new Set([...Object.keys(applied), ...Object.keys(undo)])].sort();
  const shares = regions.map(
    (region) => [region, Math.round(partWay(applied[region] ?? 0, undo[region] ?? 0, by) * 10_000) / 10_000] as const,
  );
  const [largest] = [...shares].sort(([, a], [, b]) => b - a);
  const others = shares.reduce((sum, [region, share]) => (region === largest![0] ? sum : sum + share), 0);
  return Object.fromEntries(
    shares.map(([region, share]) => [
      region,
      region === largest![0] ? Math.round((1 - others) * 10_000) / 10_000 : share,
    ]),
  );
}

/** The params of each such action (as its undo) that take a change `by` of the way back from `applied` to `undo`. */
export const STEP_BACK = {
  // Scaled in a few replicas at a time, as the HPA does (14 → 12 → 10).
  'kubernetes.scaleDeployment': (undo: { replicas: number }, applied: { replicas: number }, by: number) => ({
    replicas: Math.round(partWay(applied.replicas, undo.replicas, by)),
  }),
  // Each bound part of the way back; rounding both the same way keeps minReplicas ≤ maxReplicas.
  'kubernetes.setHpaBounds': (undo: HpaBounds, applied: HpaBounds, by: number) => ({
    ...undo,
    ...Object.fromEntries(
      (['minReplicas', 'maxReplicas'] as const)
        .filter((field) => undo[field] !== undefined && applied[field] !== undefined)
        .map((field) => [field, Math.round(partWay(applied[field]!, undo[field]!, by))]),
    ),
  }),
  'gateway.setRegionWeights': (undo: RegionWeightsParams, applied: RegionWeightsParams, by: number) => ({
    ...undo,
    weights: weightsPartWay(applied.weights, undo.weights, by),
  }),
} as const;

/** Whether a change undone by `action` can come back part of the way. */
export const stepsBack = (action: string): action is keyof typeof STEP_BACK => action in STEP_BACK;

/** The params of `action` (an undo) that take a change `by` of the way back from `applied` to `undo`. */
export function stepBackParams(action: string, undo: unknown, applied: unknown, by: number): unknown {
  if (!stepsBack(action)) throw new Error(`${action} comes back all at once, not part of the way`);
  return (STEP_BACK[action] as (undo: unknown, applied: unknown, by: number) => unknown)(undo, applied, by);
}
