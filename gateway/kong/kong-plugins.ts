// Where a Kong change lands and how it is written: a scope is a route (the route label is the Kong route's name), a
// consumer on a route (the tenant label is the consumer's username), or a consumer on every route (its quotas). Kong
// keeps one instance of a plugin per scope (cache_key name, route, service, consumer) and PATCH is last-writer-wins,
// so every write here reads the plugin again just before it and fails, retryably, when someone changed it meanwhile.
import { isDeepStrictEqual } from 'node:util';
import { notSetUp } from '../adapter';
import type { KongAdminClient, KongConsumer, KongPlugin, KongRoute } from './kong-admin-client';
import { changedMeanwhile, CREATED_TAG, withRecord } from './kong-records';

export interface KongScope {
  route?: KongRoute;
  consumer?: KongConsumer;
}

/** What one knob asks of the plugin in its scope. */
export type PluginAction =
  | { kind: 'none' }
  | { kind: 'create'; config: Record<string, unknown> }
  /** `tags`: the plugin's tags to write (the change's record is added); default its own. */
  | { kind: 'patch'; config?: Record<string, unknown>; enabled?: boolean; tags?: string[] }
  | { kind: 'delete' };

export const describeScope = ({ route, consumer }: KongScope) =>
  [route && `route ${route.name ?? route.id}`, consumer && `consumer ${consumer.username ?? consumer.id}`]
    .filter(Boolean)
    .join(', ');

const idOf = (ref: { id: string } | null | undefined) => ref?.id ?? null;

/** The answers of the deletions made, by change key: enough for any retry, which follows its first try within minutes. */
const KEEP_DELETIONS = 1_000;

function remember(deletions: Map<string, Record<string, unknown>>, key: string, answer: unknown): void {
  deletions.set(key, { ...deletions.get(key), ...(answer as Record<string, unknown>) });
  for (const oldest of deletions.keys()) {
    if (deletions.size <= KEEP_DELETIONS) break;
    deletions.delete(oldest);
  }
}

export class KongPlugins {
  /**
   * What each deletion this process made answered, by change key. Kong keeps nothing of a deleted plugin, so this is
   * the only place a retried deletion's first answer survives; a retry in another worker process (after this one died
   * between the DELETE and its answer) finds the plugin gone and answers the state it finds.
   */
  private readonly deletions = new Map<string, Record<string, unknown>>();

  constructor(private readonly admin: KongAdminClient) {}

  /** The value `field` had when this process deleted a plugin for the change `key`, if it did. */
  deletedAnswer(key: string, field: string): { value: unknown } | undefined {
    const answer = this.deletions.get(key);
    return answer && field in answer ? { value: answer[field] } : undefined;
  }

  /** The route and consumer the labels name; refused when Kong has neither (the route or tenant label names nothing). */
  async scope(route: string | undefined, tenant: string | undefined): Promise<KongScope> {
    const [found, consumer] = await Promise.all([
      route === undefined ? undefined : this.admin.route(route),
      tenant === undefined ? undefined : this.admin.consumer(tenant),
    ]);
    if (found === null)
      throw notSetUp(`Kong has no route named ${route} (GET /routes/${route}): the route label names no Kong route`);
    if (consumer === null)
      throw notSetUp(
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
    if (action.kind === 'delete') {
      // The plugin goes, and its tags with the record: a retry whose DELETE was made but whose answer was lost finds
      // nothing to read its answer from, so the answer is kept here first (see deletedAnswer).
      remember(this.deletions, key, answer);
      return this.admin.deletePlugin(plugin.id);
    }
    await this.admin.patchPlugin(plugin.id, {
      ...(action.config && { config: action.config }),
      ...(action.enabled !== undefined && { enabled: action.enabled }),
      tags: withRecord(action.tags ?? plugin.tags, key, answer),
    });
  }

  /** Writes a whole new config and tags for a plugin (arrays inside config are replaced whole), read-compare-write. */
  async replace(plugin: KongPlugin, scope: KongScope, patch: { config: Record<string, unknown>; tags: string[] }) {
    await this.unchanged(plugin, scope);
    await this.admin.patchPlugin(plugin.id, patch);
  }

  /**
   * Fails (retryable) when the plugin is not as the engine read it. Kong has no revision to write against, so a write in
   * the milliseconds between this read and the engine's still wins. Compared field by field, not as text: the listing
   * and GET /plugins/{id} are two encodings of the same row, whose keys Kong's JSON encoder does not order.
   */
  private async unchanged(read: KongPlugin, scope: KongScope): Promise<void> {
    const now = await this.admin.plugin(read.id);
    if (!isDeepStrictEqual(now, read))
      throw changedMeanwhile(`Kong plugin ${read.name} ${read.id} (${describeScope(scope)})`);
  }
}
