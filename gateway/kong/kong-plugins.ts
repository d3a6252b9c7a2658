// Where a Kong change lands and how it is written: a scope is a route (the route label is the Kong route's name), a
// consumer on a route (the tenant label is the consumer's username), or a consumer on every route (its quotas). Kong
// keeps one instance of a plugin per scope (cache_key name, route, service, consumer) and PATCH is last-writer-wins,
// so every write here reads the plugin again just before it and fails, retryably, when someone changed it meanwhile.
import type { KongAdminClient, KongConsumer, KongPlugin, KongRoute } from './kong-admin-client';
import { changedMeanwhile, CREATED_TAG, refused, withRecord } from './kong-records';

export interface KongScope {
  route?: KongRoute;
  consumer?: KongConsumer;
}

/** What one knob asks of the plugin in its scope. */
export type PluginAction =
  | { kind: 'none' }
  | { kind: 'create'; config: Record<string, unknown> }
  | { kind: 'patch'; config?: Record<string, unknown>; enabled?: boolean }
  | { kind: 'delete' };

export const describeScope = ({ route, consumer }: KongScope) =>
  [route && `route ${route.name ?? route.id}`, consumer && `consumer ${consumer.username ?? consumer.id}`]
    .filter(Boolean)
    .join(', ');

const idOf = (ref: { id: string } | null | undefined) => ref?.id ?? null;

export class KongPlugins {
  constructor(private readonly admin: KongAdminClient) {}

  /** The route and consumer the labels name; refused when Kong has neither (the route or tenant label names nothing). */
  async scope(route: string | undefined, tenant: string | undefined): Promise<KongScope> {
    const [found, consumer] = await Promise.all([
      route === undefined ? undefined : this.admin.route(route),
      tenant === undefined ? undefined : this.admin.consumer(tenant),
    ]);
    if (found === null)
      throw refused(`Kong has no route named ${route} (GET /routes/${route}): the route label names no Kong route`);
    if (consumer === null)
      throw refused(
        `Kong has no consumer ${tenant} (GET /consumers/${tenant}): the tenant label names no Kong consumer`,
      );
    return { ...(found && { route: found }), ...(consumer && { consumer }) };
  }

  /**
   * Every plugin that applies in the scope, most specific first, as Kong picks them (route and consumer, then the
   * consumer alone, then the route alone: kong/runloop/plugins_iterator.lua's precedence). Plugins on a service or a
   * consumer group are not the engine's to change and are left out.
   */
  async applying(scope: KongScope): Promise<KongPlugin[][]> {
    const [onRoute, onConsumer] = await Promise.all([
      scope.route ? this.admin.routePlugins(scope.route.id) : [],
      scope.consumer ? this.admin.consumerPlugins(scope.consumer.id) : [],
    ]);
    const plain = (plugin: KongPlugin) => idOf(plugin.service) === null && idOf(plugin.consumer_group) === null;
    const consumerId = scope.consumer?.id ?? null;
    const routeAndConsumer = onRoute.filter((plugin) => plain(plugin) && idOf(plugin.consumer) === consumerId);
    const consumerOnly = onConsumer.filter((plugin) => plain(plugin) && idOf(plugin.route) === null);
    const routeOnly = onRoute.filter((plugin) => plain(plugin) && idOf(plugin.consumer) === null);
    if (scope.route && scope.consumer) return [routeAndConsumer, consumerOnly, routeOnly];
    return [scope.route ? routeOnly : consumerOnly];
  }

  /** The plugins set exactly in the scope (the first level of `applying`). */
  async inScope(scope: KongScope): Promise<KongPlugin[]> {
    return (await this.applying(scope))[0]!;
  }

  /** Carries out one knob's action in the scope, recording `answer` under `key` on the plugin it writes. */
  async apply(
    scope: KongScope,
    name: string,
    found: KongPlugin | undefined,
    action: PluginAction,
    key: string,
    answer: unknown,
  ): Promise<void> {
    if (action.kind === 'none') return;
    if (action.kind === 'create') {
      const plugin = {
        name,
        ...(scope.route && scope.consumer && { consumer: { id: scope.consumer.id } }),
        config: action.config,
        tags: withRecord([CREATED_TAG], key, answer),
      };
      await this.admin.createPlugin(scope.route ? { route: scope.route.id } : { consumer: scope.consumer!.id }, plugin);
      return;
    }
    const plugin = found!;
    await this.unchanged(plugin, scope);
    if (action.kind === 'delete') return this.admin.deletePlugin(plugin.id);
    await this.admin.patchPlugin(plugin.id, {
      ...(action.config && { config: action.config }),
      ...(action.enabled !== undefined && { enabled: action.enabled }),
      tags: withRecord(plugin.tags, key, answer),
    });
  }

  /** Writes a whole new config and tags for a plugin (arrays inside config are replaced whole), read-compare-write. */
  async replace(plugin: KongPlugin, scope: KongScope, patch: { config: Record<string, unknown>; tags: string[] }) {
    await this.unchanged(plugin, scope);
    await this.admin.patchPlugin(plugin.id, patch);
  }

  /** Fails (retryable) when the plugin is not as the engine read it. Kong has no revision to write against. */
  private async unchanged(read: KongPlugin, scope: KongScope): Promise<void> {
    const now = await this.admin.plugin(read.id);
    if (JSON.stringify(now) !== JSON.stringify(read))
      throw changedMeanwhile(`Kong plugin ${read.name} ${read.id} (${describeScope(scope)})`);
  }
}
