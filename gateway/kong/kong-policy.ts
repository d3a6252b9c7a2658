// A route's policy on Kong, for the whole route (plugins on the Kong route) or for one tenant on it (plugins on the
// route and the consumer together, which Kong prefers over the route's own: kong/runloop/plugins_iterator.lua,
// lookup_cfg). Each field is one plugin (kong-knobs.ts); each plugin written carries the change's record in its tags.
import type { PolicyChange, PolicyDocument, RoutePolicy, RoutePolicyPatch } from '../control-api';
import type { Knob } from '../gateway-knobs';
import type { KongPlugin } from './kong-admin-client';
import { POLICY_KNOBS } from './kong-knobs';
import type { KongPlugins, KongScope } from './kong-plugins';
import { recordedAnswer, refuseLacking } from './kong-records';

type Previous = PolicyChange['previous'];

const byName = (plugins: KongPlugin[], name: string) => plugins.find((plugin) => plugin.name === name);

export class KongPolicy {
  constructor(private readonly plugins: KongPlugins) {}

  async policy(route: string, tenant: string | undefined): Promise<PolicyDocument> {
    const scope = await this.plugins.scope(route, tenant);
    return this.document(route, tenant, scope);
  }

  private async document(route: string, tenant: string | undefined, scope: KongScope): Promise<PolicyDocument> {
    const levels = await this.plugins.applying(scope);
    const policy: Partial<RoutePolicy> = {};
    const effective: Record<string, unknown> = {};
    for (const [field, knob] of Object.entries(POLICY_KNOBS)) {
      const own = byName(levels[0]!, knob.plugin);
      if (own) (policy as Record<string, unknown>)[field] = knob.read(own);
      // Kong runs the most specific enabled instance; a disabled one does not hide the next.
      const running = levels.map((level) => byName(level, knob.plugin)).find((plugin) => plugin?.enabled);
      effective[field] = running ? knob.read(running) : knob.absent;
    }
    // Kong has no revisions; the field is the Control API's. `effective` holds the fields Kong has (gateway-knobs.ts).
    return { route, tenant: tenant ?? null, policy, effective: effective as RoutePolicy, revision: 0 };
  }

  async patchPolicy(
    route: string,
    tenant: string | undefined,
    patch: RoutePolicyPatch,
    key: string,
  ): Promise<PolicyChange> {
    refuseLacking(
      Object.keys(patch).map((field) => `policy.${field}` as Knob),
      tenant === undefined ? 'route' : 'tenant',
    );
    const scope = await this.plugins.scope(route, tenant);
    const own = await this.plugins.inScope(scope);
    const previous: Previous = {};
    // Every field is planned before any is written: one Kong cannot make (a plugin missing, someone's plugin in the
    // way) refuses the whole step, with nothing written, so no part of it is left in force without its undo.
    const writes: Array<() => Promise<unknown>> = [];
    for (const [field, value] of Object.entries(patch)) {
      const knob = POLICY_KNOBS[field]!;
      const plugin = byName(own, knob.plugin);
      // A retry finds its record on the plugin the first try wrote: that field is done, with its true previous value.
      const recorded = plugin && recordedAnswer<Previous>(plugin.tags, key);
      if (recorded && field in recorded) {
        previous[field as keyof Previous] = recorded[field as keyof Previous];
        continue;
      }
      // A retry of a deletion that was made: the plugin, and its record, are gone; the first try's answer is not.
      const deleted = plugin ? undefined : this.plugins.deletedAnswer(key, field);
      if (deleted) {
        previous[field as keyof Previous] = deleted.value;
        continue;
      }
      const before = plugin ? knob.read(plugin) : knob.absent;
      previous[field as keyof Previous] = before;
      const action = knob.plan(plugin, value, scope);
      writes.push(() => this.plugins.apply(scope, knob.plugin, plugin, action, key, { [field]: before }));
    }
    for (const write of writes) await write();
    return { ...(await this.document(route, tenant, scope)), previous };
  }
}
