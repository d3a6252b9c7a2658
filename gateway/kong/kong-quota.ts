// A tenant's quotas on Kong, on the consumer's own plugins (every route): requests per second as its rate-limiting
// plugin's `second`, and tokens or dollars per day as the one-day window of its ai-rate-limiting-advanced plugin, whose
// `tokens_count_strategy` says which it counts (total_tokens or cost). That plugin needs its providers named, so the
// engine only changes a day window the consumer's plugin has already.
import { notSetUp } from '../adapter';
import type { QuotaChange, QuotaDocument, TenantQuota, TenantQuotaPatch } from '../control-api';
import type { KongPlugin } from './kong-admin-client';
import { requestRate } from './kong-knobs';
import type { KongPlugins, KongScope } from './kong-plugins';
import { recordedAnswer, refused, withRecord } from './kong-records';

const DAY = 86_400;
const AI_LIMITS = 'ai-rate-limiting-advanced';
/** The strategy each daily quota needs on the consumer's ai-rate-limiting-advanced plugin. */
const STRATEGY = { tokensPerDay: 'total_tokens', costPerDayUsd: 'cost' } as const;

interface Provider {
  name: string;
  limit: number[];
  window_size: number[];
}

type Previous = QuotaChange['previous'];

/** The one-day limit every provider of the plugin shares, when it counts with `strategy`; else null (unlimited). */
function dailyLimit(plugin: KongPlugin | undefined, strategy: string): number | null {
  if (!plugin?.enabled || (plugin.config.tokens_count_strategy ?? 'total_tokens') !== strategy) return null;
  const providers = plugin.config.llm_providers as Provider[] | undefined;
  const limits = (providers ?? []).map(({ limit, window_size }) => limit[window_size.indexOf(DAY)]);
  return limits.length > 0 && limits.every((limit) => limit !== undefined && limit === limits[0]) ? limits[0]! : null;
}

export class KongQuota {
  constructor(private readonly plugins: KongPlugins) {}

  async quota(tenant: string): Promise<QuotaDocument> {
    const scope = await this.plugins.scope(undefined, tenant);
    return { tenant, quota: quotaOf(await this.plugins.inScope(scope)), revision: 0 };
  }

  async patchQuota(tenant: string, patch: TenantQuotaPatch, key: string): Promise<QuotaChange> {
    const scope = await this.plugins.scope(undefined, tenant);
    const own = await this.plugins.inScope(scope);
    const current = quotaOf(own);
    const previous: Previous = {};
    // Every field is planned before any is written (as in kong-policy.ts): a refusal leaves nothing half made.
    const writes: Array<() => Promise<unknown>> = [];
    for (const [field, value] of Object.entries(patch) as Array<[keyof TenantQuota, number | null]>) {
      const plugin = own.find(({ name }) => name === (field === 'requestsPerSecond' ? requestRate.plugin : AI_LIMITS));
      const recorded = plugin && recordedAnswer<Previous>(plugin.tags, key);
      if (recorded && field in recorded) {
        previous[field] = recorded[field];
        continue;
      }
      const deleted = plugin ? undefined : this.plugins.deletedAnswer(key, field);
      if (deleted) {
        previous[field] = deleted.value as number | null;
        continue;
      }
      previous[field] = current[field];
      if (field === 'requestsPerSecond') {
        const action = requestRate.plan(plugin, value, scope);
        writes.push(() =>
          this.plugins.apply(scope, requestRate.plugin, plugin, action, key, { [field]: current[field] }),
        );
      } else {
        const write = this.daily(scope, plugin, field, value, key, current[field]);
        if (write) writes.push(write);
      }
    }
    for (const write of writes) await write();
    return { tenant, quota: quotaOf(await this.plugins.inScope(scope)), revision: 0, previous };
  }

  /**
   * The write that sets the one-day window's limit of every provider (llm_providers is replaced whole, so all of it is
   * sent), or none when the limit is already the value; refused here, before any write, when it cannot be made.
   */
  private daily(
    scope: KongScope,
    plugin: KongPlugin | undefined,
    field: 'tokensPerDay' | 'costPerDayUsd',
    value: number | null,
    key: string,
    before: number | null,
  ): (() => Promise<unknown>) | undefined {
    if (value === before) return undefined;
    const strategy = STRATEGY[field];
    const who = `consumer ${scope.consumer!.username ?? scope.consumer!.id}`;
    if (!plugin || dailyLimit(plugin, strategy) === null)
      throw notSetUp(
        `${who} has no enabled ai-rate-limiting-advanced plugin of its own counting ${strategy} with a one-day window (window_size ${DAY}) for every provider; the engine changes such a window's limit but does not make one up (it names the providers): add it with the consumer's current daily limit`,
      );
    if (value === null)
      throw refused(
        `${who}: the engine does not remove the one-day window of its ai-rate-limiting-advanced plugin; set a limit instead`,
      );
    const providers = (plugin.config.llm_providers as Provider[]).map((provider) => ({
      ...provider,
      limit: provider.limit.map((limit, index) => (provider.window_size[index] === DAY ? value : limit)),
    }));
    return () =>
      this.plugins.replace(plugin, scope, {
        config: { llm_providers: providers },
        tags: withRecord(plugin.tags, key, { [field]: before }),
      });
  }
}

function quotaOf(plugins: KongPlugin[]): TenantQuota {
  const named = (name: string) => plugins.find((plugin) => plugin.name === name);
  return {
    requestsPerSecond: named(requestRate.plugin)
      ? (requestRate.read(named(requestRate.plugin)!) as number | null)
      : null,
    tokensPerDay: dailyLimit(named(AI_LIMITS), STRATEGY.tokensPerDay),
    costPerDayUsd: dailyLimit(named(AI_LIMITS), STRATEGY.costPerDayUsd),
  };
}
