// A whole route's changes on LiteLLM, where a route is a model group (model_name = the route label): its input-token
// cap (model_info.max_input_tokens on each deployment), its fallback (the group's fallbacks), its split across
// regions (each deployment's litellm_params.weight, grouped by litellm_params.region_name). The record of each change
// goes on the group's first deployment (by id) before anything else is written.
import { notSetUp } from '../adapter';
import type { PolicyChange, PolicyDocument, RegionWeights, RegionWeightsChange, RoutePolicy } from '../control-api';
import type { RegionWeightsDocument, RegionWeightsUpdate, RoutePolicyPatch } from '../control-api';
import type { LiteLlmAdminClient, LiteLlmDeployment } from './litellm-admin-client';
import {
  RECORD_KEY,
  recordedAnswer,
  recordOf,
  refused,
  policyKnobs,
  refuseLacking,
  withChange,
  type ObjectRecord,
} from './litellm-records';
import type { LiteLlmTiers } from './litellm-tiers';

/** A weight share equal to another within this is the same split (the Control API's tolerance, WEIGHT_SUM_TOLERANCE). */
const SAME_SHARE = 1e-6;

export class LiteLlmRouteChanges {
  constructor(
    private readonly admin: LiteLlmAdminClient,
    private readonly tiers: LiteLlmTiers,
  ) {}

  /** The group's deployments, in LiteLLM's order (the regions are listed in it). */
  private async group(route: string): Promise<[LiteLlmDeployment, ...LiteLlmDeployment[]]> {
    const deployments = await this.admin.deploymentsOf(route);
    if (deployments.length === 0)
      throw notSetUp(
        `no LiteLLM deployment serves model group ${route} (GET /model/info): the route names no model group`,
      );
    return deployments as [LiteLlmDeployment, ...LiteLlmDeployment[]];
  }

  async policy(route: string): Promise<PolicyDocument> {
    const [deployments, fallback] = await Promise.all([this.group(route), this.admin.fallback(route)]);
    const caps = deployments.map(({ model_info }) => model_info.max_input_tokens ?? null);
    const capped = caps.filter((cap) => cap !== null);
    const policy: Partial<RoutePolicy> = {
      modelTier: this.tiers.tierOf(route, route),
      fallbackModel: fallback?.fallback_models[0] ? this.tiers.tierOf(route, fallback.fallback_models[0]) : null,
      // A deployment without a cap takes any prompt, and the router may send it there.
      maxInputTokens: capped.length === caps.length ? Math.min(...capped) : null,
    };
    return { route, tenant: null, policy, effective: policy as RoutePolicy, revision: 0 };
  }

  async patchPolicy(route: string, patch: RoutePolicyPatch, key: string): Promise<PolicyChange> {
    refuseLacking(policyKnobs(patch), 'route');
    const deployments = await this.group(route);
    const home = homeOf(deployments);
    const record = recordOf(home.model_info);
    const before = await this.policy(route);
    // A try that failed after its record was written is retried with the same key: it finds the record, keeps the
    // previous values it holds, and makes the writes again (each sets a value, so making one twice changes nothing).
    const recorded = recordedAnswer<PolicyChange['previous']>(record, key);
    const previous: PolicyChange['previous'] = { ...recorded };
    if (patch.maxInputTokens !== undefined && !recorded) {
      const caps = new Set(deployments.map(({ model_info }) => model_info.max_input_tokens ?? null));
      // patch_model drops nulls: a cap LiteLLM never held could not be taken away again.
      if (patch.maxInputTokens === null || caps.has(null) || caps.size > 1)
        throw notSetUp(
          `model group ${route}: the engine changes max_input_tokens only where every deployment already has the same one (now ${[...caps].join(', ')}), since LiteLLM cannot remove one it adds; set each deployment's model_info.max_input_tokens to its context window first`,
        );
      previous.maxInputTokens = before.policy.maxInputTokens ?? null;
    }
    if (patch.fallbackModel !== undefined && !recorded) previous.fallbackModel = before.policy.fallbackModel ?? null;
    // The record first, so that a retry knows the values from before its first try.
    if (!recorded)
      await this.admin.patchDeployment(home.model_info.id, { model_info: recordOn(record, key, previous) });
    if (patch.maxInputTokens != null)
      for (const { model_info } of deployments)
        await this.admin.patchDeployment(model_info.id, { model_info: { max_input_tokens: patch.maxInputTokens } });
    if (patch.fallbackModel === null) {
      if (before.policy.fallbackModel !== null) await this.admin.deleteFallback(route);
    } else if (patch.fallbackModel !== undefined) {
      await this.admin.setFallback(route, [this.tiers.groupOf(route, patch.fallbackModel)]);
    }
    return { ...(await this.policy(route)), previous };
  }

  async weights(route: string): Promise<RegionWeightsDocument> {
    return { route, weights: sharesOf(await this.group(route)), revision: 0 };
  }

  /**
   * Splits the group's traffic by region: each region's share goes to its deployments in equal parts. Every
   * deployment must carry a weight already (a PATCH cannot remove one it adds); the weights it held before the
   * engine's first change are kept, and written back exactly when the engine restores their split.
   */
  async setWeights(route: string, { weights }: RegionWeightsUpdate, key: string): Promise<RegionWeightsChange> {
    const deployments = await this.group(route);
    const home = homeOf(deployments);
    const record = recordOf(home.model_info);
    // A retry after a try that wrote its record writes the weights that try meant to (see patchPolicy).
    const recorded = recordedAnswer<{ weights: RegionWeights; next: Record<string, number> }>(record, key);
    if (recorded) {
      await this.writeWeights(deployments, recorded.next);
      return { ...(await this.weights(route)), previous: { weights: recorded.weights } };
    }

    const unweighted = deployments.filter(({ litellm_params }) => typeof litellm_params.weight !== 'number');
    if (unweighted.length > 0)
      throw notSetUp(
        `model group ${route}: deployment ${unweighted.map(({ model_info }) => model_info.id).join(', ')} has no litellm_params.weight; give every deployment a weight (e.g. 1) first, since LiteLLM cannot remove one the engine adds`,
      );
    const current = sharesOf(deployments);
    const unknown = Object.keys(weights).filter((region) => !(region in current));
    if (unknown.length > 0)
      throw refused(
        `model group ${route} has no deployment in ${unknown.join(', ')} (regions: ${Object.keys(current).join(', ')})`,
      );
    const rawBefore = (record.before?.weights ?? undefined) as Record<string, number> | undefined;
    const restoring = rawBefore !== undefined && sameSplit(sharesOf(deployments, rawBefore), weights);
    const next = Object.fromEntries(
      deployments.map(({ litellm_params, model_info }) => {
        if (restoring) return [model_info.id, rawBefore[model_info.id]!];
        const region = litellm_params.region_name as string;
        const inRegion = deployments.filter((other) => other.litellm_params.region_name === region).length;
        return [model_info.id, (weights[region] ?? 0) / inRegion];
      }),
    );
    const previous = { weights: current };
    const before = restoring
      ? undefined
      : (rawBefore ??
        Object.fromEntries(
          deployments.map(({ litellm_params, model_info }) => [model_info.id, litellm_params.weight]),
        ));
    const kept: ObjectRecord = {
      changes: record.changes,
      ...(before && { before: { ...record.before, weights: before } }),
    };
    await this.admin.patchDeployment(home.model_info.id, { model_info: recordOn(kept, key, { ...previous, next }) });
    await this.writeWeights(deployments, next);
    return { ...(await this.weights(route)), previous };
  }

  private async writeWeights(deployments: LiteLlmDeployment[], weights: Record<string, number>): Promise<void> {
    for (const { model_info } of deployments)
      await this.admin.patchDeployment(model_info.id, { litellm_params: { weight: weights[model_info.id] } });
  }
}

/** The deployment that holds the group's record: the first by id, wherever LiteLLM lists it. */
const homeOf = (deployments: LiteLlmDeployment[]) =>
  [...deployments].sort((a, b) => a.model_info.id.localeCompare(b.model_info.id))[0]!;

const recordOn = (record: ObjectRecord, key: string, answer: unknown) => ({
  [RECORD_KEY]: withChange({ changes: record.changes, ...(record.before && { before: record.before }) }, key, answer),
});

/**
 * Each region's share of the group's traffic: the weights of its deployments over all weights (simple_shuffle.py picks
 * by weight). Every deployment must name its region (litellm_params.region_name).
 */
function sharesOf(deployments: LiteLlmDeployment[], raw?: Record<string, number>): RegionWeights {
  const missing = deployments.filter(({ litellm_params }) => typeof litellm_params.region_name !== 'string');
  if (missing.length > 0)
    throw notSetUp(
      `deployment ${missing.map(({ model_info }) => model_info.id).join(', ')} of model group ${deployments[0]!.model_name} has no litellm_params.region_name; give each deployment its region`,
    );
  const weightOf = ({ litellm_params, model_info }: LiteLlmDeployment) =>
    raw?.[model_info.id] ?? (typeof litellm_params.weight === 'number' ? litellm_params.weight : 1);
  const total = deployments.reduce((sum, deployment) => sum + weightOf(deployment), 0);
  const shares: RegionWeights = {};
  for (const deployment of deployments) {
    const region = deployment.litellm_params.region_name as string;
    shares[region] = (shares[region] ?? 0) + (total > 0 ? weightOf(deployment) / total : 0);
  }
  return shares;
}

function sameSplit(a: RegionWeights, b: RegionWeights): boolean {
  const regions = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...regions].every((region) => Math.abs((a[region] ?? 0) - (b[region] ?? 0)) <= SAME_SHARE);
}
