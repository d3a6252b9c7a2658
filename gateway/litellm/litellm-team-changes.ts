// A tenant's changes on LiteLLM, where a tenant is a team (team_id = the tenant label): its tier on a route (the
// team's model alias), its request rate on a route (metadata.model_rpm_limit), its quotas (rpm_limit; max_budget with
// budget_duration 1d). Every change reads the team, records itself in the team's metadata, and writes the team once.
import { notSetUp } from '../adapter';
import type { PolicyChange, PolicyDocument, QuotaChange, QuotaDocument, RoutePolicy } from '../control-api';
import type { RoutePolicyPatch, TenantQuota, TenantQuotaPatch } from '../control-api';
import type { LiteLlmAdminClient, LiteLlmTeam, LiteLlmTeamUpdate } from './litellm-admin-client';
import {
  changedMeanwhile,
  RECORD_KEY,
  recordedAnswer,
  recordOf,
  refused,
  policyKnobs,
  refuseLacking,
  withChange,
} from './litellm-records';
import type { LiteLlmTiers } from './litellm-tiers';

type Metadata = Record<string, unknown>;
const DAILY = '1d';

/** Requests per second as LiteLLM's requests per minute: whole, and at least one. */
function perMinute(rps: number, what: string): number {
  const rpm = Math.round(rps * 60);
  if (rpm < 1) throw refused(`${what}: ${rps} requests per second is under one a minute, LiteLLM's smallest limit`);
  return rpm;
}

const perSecond = (rpm: unknown) => (typeof rpm === 'number' ? rpm / 60 : null);

export class LiteLlmTeamChanges {
  constructor(
    private readonly admin: LiteLlmAdminClient,
    private readonly tiers: LiteLlmTiers,
  ) {}

  /** The route's policy for the team: what it overrides (alias, rate), and what its requests get. */
  async policy(route: string, tenant: string): Promise<PolicyDocument> {
    const [team, aliases] = await Promise.all([this.admin.teamInfo(tenant), this.admin.teamModelAliases(tenant)]);
    return this.document(route, tenant, team, aliases);
  }

  private async document(
    route: string,
    tenant: string,
    team: LiteLlmTeam,
    aliases: Record<string, string>,
  ): Promise<PolicyDocument> {
    const alias = aliases[route];
    const group = alias ?? route;
    const rpm = (team.metadata.model_rpm_limit as Record<string, number> | undefined)?.[route];
    const policy: Partial<RoutePolicy> = {
      ...(alias !== undefined && { modelTier: this.tiers.tierOf(route, alias) }),
      ...(rpm !== undefined && { rateLimitRps: rpm / 60 }),
    };
    const [deployments, fallback] = await Promise.all([this.admin.deploymentsOf(group), this.admin.fallback(group)]);
    const caps = deployments
      .map(({ model_info }) => model_info.max_input_tokens)
      .filter((cap) => typeof cap === 'number');
    const effective: Partial<RoutePolicy> = {
      modelTier: this.tiers.tierOf(route, group),
      fallbackModel: fallback?.fallback_models[0] ? this.tiers.tierOf(route, fallback.fallback_models[0]) : null,
      maxInputTokens: caps.length > 0 ? Math.min(...caps) : null,
      rateLimitRps: perSecond(rpm),
    };
    // LiteLLM has no revisions; the field is the Control API's.
    return { route, tenant, policy, effective: effective as RoutePolicy, revision: 0 };
  }

  async patchPolicy(route: string, tenant: string, patch: RoutePolicyPatch, key: string): Promise<PolicyChange> {
    refuseLacking(policyKnobs(patch), 'tenant');
    const what = `LiteLLM team ${tenant}`;
    const team = await this.admin.teamInfo(tenant);
    const aliases = await this.admin.teamModelAliases(tenant);
    const record = recordOf(team.metadata);
    const recorded = recordedAnswer<PolicyChange['previous']>(record, key);
    if (recorded) return { ...(await this.document(route, tenant, team, aliases)), previous: recorded };

    const before = await this.document(route, tenant, team, aliases);
    const held = { ...record.before };
    const previous: PolicyChange['previous'] = {};
    const update: LiteLlmTeamUpdate = {};
    const limits = { ...(team.metadata.model_rpm_limit as Record<string, number> | undefined) };
    if (patch.modelTier !== undefined) {
      previous.modelTier = before.policy.modelTier ?? null;
      const next = { ...aliases };
      if (patch.modelTier === null) delete next[route];
      else {
        const served = new Set((await this.admin.deployments()).map(({ model_name }) => model_name));
        next[route] = this.tiers.servedGroup(route, patch.modelTier, served);
      }
      update.model_aliases = next;
    }
    if (patch.fallbackModel !== undefined) {
      previous.fallbackModel = before.effective.fallbackModel ?? null;
      await this.checkFallback(route, update.model_aliases?.[route] ?? aliases[route] ?? route, patch.fallbackModel);
    }
    if (patch.rateLimitRps !== undefined) {
      previous.rateLimitRps = before.policy.rateLimitRps ?? null;
      Object.assign(held, this.limitRate(route, patch.rateLimitRps, limits, held, what));
    }
    // The whole metadata goes back: LiteLLM replaces it (update_team), and a null model_rpm_limit would not clear it.
    const changed = withChange({ changes: record.changes }, key, previous);
    const metadata: Metadata = {
      ...team.metadata,
      [RECORD_KEY]: Object.keys(held).length > 0 ? { ...changed, before: held } : changed,
    };
    if (Object.keys(limits).length > 0) metadata.model_rpm_limit = limits;
    else delete metadata.model_rpm_limit;
    const written = await this.write(tenant, team, { ...update, metadata });
    if (update.model_aliases && !sameJson(written.litellm_model_table?.model_aliases ?? {}, update.model_aliases))
      throw refused(
        `${what}: LiteLLM did not keep the model aliases the engine wrote (${JSON.stringify(update.model_aliases)})`,
      );
    return { ...(await this.document(route, tenant, written, update.model_aliases ?? aliases)), previous };
  }

  /**
   * Sets the team's limit on each of the route's model groups (the limit is keyed by the model asked for after the
   * alias: parallel_request_limiter_v3.py), in `limits`. The limits the groups had before the engine's first change are
   * held, and put back exactly when the engine sets the route's rate back to what it found; answers what to hold.
   */
  private limitRate(
    route: string,
    rps: number | null,
    limits: Record<string, number>,
    held: Record<string, unknown>,
    what: string,
  ): Record<string, unknown> {
    const rpm = rps === null ? null : perMinute(rps, `${what}, route ${route}`);
    const byRoute = { ...(held.model_rpm_limit as Record<string, Record<string, number | null>> | undefined) };
    const found = byRoute[route];
    const groups = this.tiers.groupsOf(route);
    if (found && (found[route] ?? null) === rpm) {
      for (const [group, limit] of Object.entries(found)) {
        if (limit === null) delete limits[group];
        else limits[group] = limit;
      }
      delete byRoute[route];
    } else {
      byRoute[route] = found ?? Object.fromEntries(groups.map((group) => [group, limits[group] ?? null]));
      for (const group of groups) {
        if (rpm === null) delete limits[group];
        else limits[group] = rpm;
      }
    }
    if (Object.keys(byRoute).length > 0) return { model_rpm_limit: byRoute };
    delete held.model_rpm_limit;
    return {};
  }

  /**
   * LiteLLM's fallbacks belong to a model group, not to a team: a tenant's fallback tier is checked, never written. The
   * group the team's requests go to must fall back to that tier's group first.
   */
  private async checkFallback(route: string, group: string, tier: string | null): Promise<void> {
    if (tier === null) return;
    const wanted = this.tiers.groupOf(route, tier);
    const fallback = await this.admin.fallback(group);
    if (fallback?.fallback_models[0] !== wanted)
      throw notSetUp(
        `LiteLLM's fallbacks belong to a model group, and ${group} falls back to ${fallback ? fallback.fallback_models.join(', ') : 'nothing'}, not ${wanted} (tier ${tier}): configure it once (router_settings.fallbacks, or POST /fallback {"model": "${group}", "fallback_models": ["${wanted}"]}), or leave fallbackModel out of the step`,
      );
  }

  async quota(tenant: string): Promise<QuotaDocument> {
    return { tenant, quota: quotaOf(await this.admin.teamInfo(tenant)), revision: 0 };
  }

  async patchQuota(tenant: string, patch: TenantQuotaPatch, key: string): Promise<QuotaChange> {
    // No daily token quota exists on LiteLLM, so "unlimited" is already true.
    const { tokensPerDay, ...asked } = patch;
    if (tokensPerDay !== null && tokensPerDay !== undefined) refuseLacking(['quota.tokensPerDay'], 'tenant');
    const what = `LiteLLM team ${tenant}`;
    const team = await this.admin.teamInfo(tenant);
    const record = recordOf(team.metadata);
    const recorded = recordedAnswer<QuotaChange['previous']>(record, key);
    if (recorded) return { tenant, quota: quotaOf(team), revision: 0, previous: recorded };

    const current = quotaOf(team);
    const previous: QuotaChange['previous'] = tokensPerDay === undefined ? {} : { tokensPerDay: null };
    const update: LiteLlmTeamUpdate = {};
    const before = { ...record.before };
    if (asked.requestsPerSecond !== undefined) {
      previous.requestsPerSecond = current.requestsPerSecond;
      update.rpm_limit = asked.requestsPerSecond === null ? null : perMinute(asked.requestsPerSecond, what);
    }
    if (asked.costPerDayUsd !== undefined) {
      if (team.max_budget !== null && team.budget_duration !== DAILY)
        throw notSetUp(
          `${what} has a budget of $${team.max_budget} per ${team.budget_duration ?? 'lifetime'}; the engine will not turn it into a daily one. Set a daily budget by hand, or leave costPerDayUsd out of the step`,
        );
      previous.costPerDayUsd = current.costPerDayUsd;
      if (asked.costPerDayUsd === null) {
        update.max_budget = null;
        // The duration it had before the engine's first daily budget, put back exactly.
        update.budget_duration = 'budget_duration' in before ? (before.budget_duration as string | null) : null;
        delete before.budget_duration;
      } else {
        // The period a team without a budget had (none, or one without a sum), to put back when the budget goes.
        if (team.max_budget === null && !('budget_duration' in before)) before.budget_duration = team.budget_duration;
        update.max_budget = asked.costPerDayUsd;
        update.budget_duration = DAILY;
      }
    }
    const changed = withChange({ changes: record.changes }, key, previous);
    const metadata = {
      ...team.metadata,
      [RECORD_KEY]: Object.keys(before).length > 0 ? { ...changed, before } : changed,
    };
    const written = await this.write(tenant, team, { ...update, metadata });
    return { tenant, quota: quotaOf(written), revision: 0, previous };
  }

  /**
   * Writes the team once. LiteLLM has no revision to write against, so the team is read again just before the write:
   * another writer's change since the first read fails the try (retried) rather than being overwritten.
   */
  private async write(tenant: string, read: LiteLlmTeam, update: LiteLlmTeamUpdate) {
    if (!sameJson(await this.admin.teamInfo(tenant), read)) throw changedMeanwhile(`LiteLLM team ${tenant}`);
    return this.admin.updateTeam(tenant, update);
  }
}

/** A team's limits as the engine's quota: rpm_limit per second; a daily max_budget per day (null: unlimited). */
function quotaOf(team: LiteLlmTeam): TenantQuota {
  return {
    tokensPerDay: null,
    requestsPerSecond: perSecond(team.rpm_limit),
    costPerDayUsd: team.budget_duration === DAILY ? team.max_budget : null,
  };
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
