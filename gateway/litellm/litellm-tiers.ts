// The engine's model tiers on LiteLLM: each tier is served by a model group named after the route
// (gateway.litellm.tiers, e.g. distilled → "{route}-distilled"); a team is tiered down by aliasing the route's name
// to that group (litellm_pre_call_utils.py, _update_model_if_team_alias_exists, rewrites the request's model).
import { notSetUp } from '../adapter';

export class LiteLlmTiers {
  constructor(private readonly templates: Record<string, string>) {}

  /** The model group that serves `tier` on `route`; a value that names no tier is taken as a model group itself. */
  groupOf(route: string, tier: string): string {
    const template = this.templates[tier];
    return template === undefined ? tier : template.replaceAll('{route}', route);
  }

  /** The tier a model group serves on `route`, else the group's own name (an alias the engine did not make). */
  tierOf(route: string, group: string): string {
    const tier = Object.keys(this.templates).find((name) => this.groupOf(route, name) === group);
    return tier ?? group;
  }

  /** Every model group that serves `route`: the route's own and each tier's. */
  groupsOf(route: string): string[] {
    return [...new Set([route, ...Object.keys(this.templates).map((tier) => this.groupOf(route, tier))])];
  }

  /** The group `tier` names, refused when no deployment serves it (LiteLLM would fail every request it aliased). */
  servedGroup(route: string, tier: string, served: ReadonlySet<string>): string {
    const group = this.groupOf(route, tier);
    if (!served.has(group))
      throw notSetUp(
        `no LiteLLM deployment serves model group ${group} (tier ${tier} of route ${route}, gateway.litellm.tiers): add the model group, or map the tier to one that exists`,
      );
    return group;
  }
}
