// A route's split across regions on Kong: the weights of the targets of the route's ai-proxy-advanced plugin, whose
// weighted balancer sends each target its weight's share (developer.konghq.com/ai-gateway/load-balancing). A target's
// region is its `description` (read by Kong only with the semantic balancer, which the engine therefore refuses).
// Targets are an array PATCH replaces whole, so the engine sends them back as read with only the weights changed; the
// raw weights from before its first change are held in a tag, and put back exactly when the engine restores that split.
import { notSetUp } from '../adapter';
import type { RegionWeights, RegionWeightsChange, RegionWeightsDocument, RegionWeightsUpdate } from '../control-api';
import type { KongPlugin } from './kong-admin-client';
import type { KongPlugins, KongScope } from './kong-plugins';
import { heldBefore, recordedAnswer, refused, withHeld, withRecord } from './kong-records';

const PROXY = 'ai-proxy-advanced';
/** The weights the engine writes sum to about this (Kong's weights are integers). */
const SCALE = 1_000;
/** A share equal to another within this is the same split (the Control API's WEIGHT_SUM_TOLERANCE). */
const SAME_SHARE = 1e-6;

interface Target {
  description?: string | null;
  weight?: number;
  [field: string]: unknown;
}

export class KongWeights {
  constructor(private readonly plugins: KongPlugins) {}

  private async proxy(route: string): Promise<{ scope: KongScope; plugin: KongPlugin; targets: Target[] }> {
    const scope = await this.plugins.scope(route, undefined);
    const plugin = (await this.plugins.inScope(scope)).find(({ name }) => name === PROXY);
    if (!plugin) throw notSetUp(`Kong route ${route} has no ${PROXY} plugin of its own: there are no targets to weigh`);
    const balancer = plugin.config.balancer as { algorithm?: string } | undefined;
    if (balancer?.algorithm === 'semantic')
      throw notSetUp(
        `Kong route ${route}: ${PROXY} balances by semantic similarity, which matches prompts against the targets' descriptions; the engine reads regions from them, so it splits only weighted balancers`,
      );
    const targets = (plugin.config.targets ?? []) as Target[];
    const unnamed = targets.filter(({ description }) => typeof description !== 'string' || description === '');
    if (targets.length === 0 || unnamed.length > 0)
      throw notSetUp(
        `Kong route ${route}: every target of its ${PROXY} plugin must name its region in its description (e.g. "us-east-1"); ${unnamed.length} of ${targets.length} do not`,
      );
    return { scope, plugin, targets };
  }

  async weights(route: string): Promise<RegionWeightsDocument> {
    return { route, weights: sharesOf((await this.proxy(route)).targets), revision: 0 };
  }

  async setWeights(route: string, { weights }: RegionWeightsUpdate, key: string): Promise<RegionWeightsChange> {
    const { scope, plugin, targets } = await this.proxy(route);
    const recorded = recordedAnswer<RegionWeights>(plugin.tags, key);
    if (recorded) return { ...(await this.weights(route)), previous: { weights: recorded } };

    const current = sharesOf(targets);
    const unknown = Object.keys(weights).filter((region) => !(region in current));
    if (unknown.length > 0)
      throw refused(
        `Kong route ${route} has no ${PROXY} target in ${unknown.join(', ')} (regions: ${Object.keys(current).join(', ')})`,
      );
    const held = heldBefore(plugin.tags, 'weights')?.split('.').map(Number);
    const raw = targets.map(({ weight }) => weight ?? 100);
    const restoring = held?.length === targets.length && sameSplit(sharesOf(targets, held), weights);
    const next = restoring
      ? held
      : targets.map(({ description }) => {
          const share = weights[description!] ?? 0;
          const inRegion = targets.filter((other) => other.description === description).length;
          const weight = Math.round((share * SCALE) / inRegion);
          if (weight < 1)
            throw refused(
              `Kong route ${route}: region ${description} would get no traffic; the engine does not give an ${PROXY} target a weight under 1 (shares of at least ${1 / SCALE} per target)`,
            );
          return weight;
        });
    let tags = withRecord(plugin.tags, key, current);
    tags = withHeld(tags, 'weights', restoring ? undefined : (held ?? raw).join('.'));
    const written = targets.map((target, index) => ({ ...target, weight: next[index] }));
    await this.plugins.replace(plugin, scope, { config: { targets: written }, tags });
    return { ...(await this.weights(route)), previous: { weights: current } };
  }
}

/** Each region's share: its targets' weights over all weights (Kong's default weight is 100). */
function sharesOf(targets: Target[], raw?: number[]): RegionWeights {
  const weightOf = (index: number) => raw?.[index] ?? targets[index]!.weight ?? 100;
  const total = targets.reduce((sum, _, index) => sum + weightOf(index), 0);
  const shares: RegionWeights = {};
  targets.forEach(({ description }, index) => {
    shares[description!] = (shares[description!] ?? 0) + (total > 0 ? weightOf(index) / total : 0);
  });
  return shares;
}

function sameSplit(a: RegionWeights, b: RegionWeights): boolean {
  const regions = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...regions].every((region) => Math.abs((a[region] ?? 0) - (b[region] ?? 0)) <= SAME_SHARE);
}
