// Policy checks the workflow asks before a change: "may this action run on this target" and "which
// tier". OPA answers when configured (its decision id goes into the run), else the built-in rules;
// see policy/decide.ts for what happens when OPA cannot answer.
import { ApplicationFailure } from '@temporalio/common';
import type { GatewayAdapter } from '../gateway/adapter';
import { z } from 'zod';
import { TARGET_KIND_NAMES, type Target } from '../alerts/target';
import { ACTION_NAMES } from '../playbook/actions';
import type { Severity } from '../playbook/schema';
import { withFailMode, type Guardrails } from '../safety/guardrails';
import type { TenantUsage } from '../policy/builtin';
import { decide, type PolicyDecision } from '../policy/decide';
import { OpaClient, type OpaClientOptions } from '../policy/opa-client';
import { formatIssues } from '../validation/issues';
import { instantValue, type PrometheusQuery } from './prometheus';

const severitySchema = z.enum(['S1', 'S2', 'S3'] satisfies Severity[]);

const targetSchema = z.object({
  kind: z.enum(TARGET_KIND_NAMES),
  key: z.string().min(1),
  labels: z.record(z.string(), z.string()),
});

const policyCheckSchema = z
  .object({
    action: z.enum(ACTION_NAMES).describe('the action about to be applied'),
    target: targetSchema,
    params: z.unknown(),
    severity: severitySchema.describe("the run's severity"),
  })
  .strict();

const policyTierSchema = z
  .object({
    route: z.string().min(1),
    currentTier: z.string().min(1),
    burnRate: z.number().min(0).describe("the route's cost rate over its budget pace"),
    p95LatencyMs: z.number().min(0).describe('the p95 latency measured on the current tier'),
    latencySloMs: z.number().positive(),
    tierP95LatencyMs: z.record(z.string(), z.number().min(0)).default({}).describe('the p95 latency expected on the other tiers'),
    severity: severitySchema,
  })
  .strict();

export type PolicyCheckRequest = z.input<typeof policyCheckSchema>;
export type PolicyTierRequest = z.input<typeof policyTierSchema>;

export interface PolicyActivities {
  'policy.check': (request: PolicyCheckRequest) => Promise<PolicyDecision>;
  'policy.tier': (request: PolicyTierRequest) => Promise<PolicyDecision>;
}

export interface PolicyDeps {
  /** The OPA server to ask; without it the built-in rules decide. */
  opa?: OpaClientOptions | undefined;
  guardrails: Guardrails;
  /** Reads a tenant's token use today and its daily quota, for the quota policy; without it the quota refuses nothing. */
  tenantUsage?: ((tenant: string) => Promise<TenantUsage>) | undefined;
}

function parse<Schema extends z.ZodType>(activity: string, schema: Schema, request: unknown): z.output<Schema> {
  const parsed = schema.safeParse(request);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`${activity}: invalid request: ${formatIssues(parsed.error, schema).join('; ')}`, 'InvalidParams');
  return parsed.data;
}

/** The params as the action would apply them: the engine sets a circuit's fail mode from engine.sensitiveRoutes, whatever the playbook says. */
function effectiveParams(action: string, { labels }: Target, params: unknown, guardrails: Guardrails): unknown {
  if (action !== 'gateway.setRoutePolicy' || typeof params !== 'object' || params === null) return params;
  const { route, policy } = params as { route?: unknown; policy?: unknown };
  const routeName = typeof route === 'string' ? route : labels.route;
  if (routeName === undefined || typeof policy !== 'object' || policy === null) return params;
  return { ...params, policy: withFailMode(routeName, policy, guardrails) };
}

/**
 * A tenant's tokens since midnight UTC (from Prometheus) and its daily token quota (from the
 * gateway), for the quota policy. What cannot be read is null, and the quota then refuses nothing:
 * the gateway enforces the quota itself, the policy only stops the engine from loosening it.
 */
export function tenantUsageFrom(prometheus: PrometheusQuery, gateway: Pick<GatewayAdapter, 'getTenantQuota'>): (tenant: string) => Promise<TenantUsage> {
  return async (tenant) => {
    const now = new Date();
    const sinceMidnight = Math.max(60, Math.floor((now.getTime() - Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())) / 1000));
    const selector = `tenant="${tenant.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    const [tokensToday, tokensPerDay] = await Promise.all([
      instantValue(prometheus, `sum(increase(llm_tokens_total{${selector}}[${sinceMidnight}s]))`, 'policy.check').catch(() => null),
      gateway.getTenantQuota(tenant).then(({ quota }) => quota.tokensPerDay ?? null, () => null),
    ]);
    return { tokensToday, tokensPerDay };
  };
}

export function createPolicyActivities({ opa, guardrails, tenantUsage }: PolicyDeps): PolicyActivities {
  const client = opa ? new OpaClient(opa) : undefined;
  return {
    async 'policy.check'(request) {
      const { action, target, params, severity } = parse('policy.check', policyCheckSchema, request);
      const tenant = target.labels.tenant;
      const usage = tenant && tenantUsage ? await tenantUsage(tenant) : undefined;
      const question = {
        kind: 'action' as const,
        action,
        target,
        params: effectiveParams(action, target, params, guardrails),
        severity,
        guardrails,
        ...(usage && { usage }),
      };
      return decide(question, { opa: client });
    },

    async 'policy.tier'(request) {
      const question = { kind: 'tier' as const, ...parse('policy.tier', policyTierSchema, request), guardrails };
      return decide(question, { opa: client });
    },
  };
}
