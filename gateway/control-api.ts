// The Gateway Control API's data model (see gateway/openapi.yaml): per-route policy, set for a
// whole route or overridden for one tenant on it; per-tenant quotas; per-route region weights.
// Shared by the HTTP client, the simulator and the playbook action specs.
import { z } from 'zod';

type MergePatchShape<Shape extends z.core.$ZodShape> = {
  [Field in keyof Shape]: z.ZodOptional<z.ZodNullable<Shape[Field]>>;
};

/**
 * A JSON merge patch (RFC 7386) of an object schema: every field optional and nullable, at least
 * one named. What null means (unset, unlimited, refused) is up to the resource.
 */
function mergePatchOf<Shape extends z.core.$ZodShape>(shape: Shape, what: string) {
  const fields = Object.fromEntries(
    Object.entries(shape).map(([field, schema]) => [field, z.nullable(schema).optional()]),
  ) as MergePatchShape<Shape>;
  return z
    .object(fields)
    .strict()
    .refine((patch) => Object.keys(patch).length > 0, {
      message: `the patch changes nothing: name at least one ${what} field`,
    });
}

export const routePolicySchema = z
  .object({
    maxInputTokens: z
      .number()
      .int()
      .positive()
      .nullable()
      .describe('the largest prompt, in tokens, the route accepts (null: no cap)'),
    cacheMode: z.enum(['off', 'standard', 'aggressive']).describe('off, standard or aggressive response caching'),
    modelTier: z.string().min(1).describe('the model tier requests are served from, e.g. premium or distilled'),
    fallbackModel: z.string().min(1).nullable().describe('the model used when the tier is unavailable (null: none)'),
    rateLimitRps: z.number().positive().nullable().describe('requests per second allowed (null: unlimited)'),
    circuit: z
      .object({ state: z.enum(['closed', 'open']), failMode: z.enum(['open', 'closed']) })
      .strict()
      .describe('breaker state; failMode open lets traffic through when the breaker cannot decide, closed rejects it'),
    priority: z.number().int().min(0).max(10).describe('scheduling priority 0-10, higher first'),
    promptCompression: z.boolean().describe('whether prompts are compressed before inference'),
  })
  .strict();

export type RoutePolicy = z.output<typeof routePolicySchema>;
export type RoutePolicyField = keyof RoutePolicy;

/**
 * A JSON merge patch (RFC 7386) of a policy: the fields to change. In a tenant's scope null removes
 * the override; in a route's scope null is allowed only where the field itself is nullable.
 */
export const routePolicyPatchSchema = mergePatchOf(routePolicySchema.shape, 'policy');
export type RoutePolicyPatch = z.output<typeof routePolicyPatchSchema>;

/** Where a policy applies: a whole route, or one tenant's override on it. */
export interface PolicyScope {
  route: string;
  tenant?: string;
}

/** Values of the patched fields before the change; null means the field was not set in this scope. */
export type PreviousValues = Partial<Record<RoutePolicyField, unknown>>;

export interface PolicyDocument {
  route: string;
  tenant: string | null;
  /** Fields set in this scope (for a tenant: its overrides only). */
  policy: Partial<RoutePolicy>;
  /** What requests in this scope actually get: route policy with tenant overrides applied. */
  effective: RoutePolicy;
  revision: number;
}

export interface PolicyChange extends PolicyDocument {
  previous: PreviousValues;
}

/** A tenant's limits across all routes; null is unlimited, so every field always has a value. */
export const tenantQuotaSchema = z
  .object({
    tokensPerDay: z
      .number()
      .int()
      .positive()
      .nullable()
      .describe('input + output tokens the tenant may use per UTC day (null: unlimited)'),
    requestsPerSecond: z
      .number()
      .positive()
      .nullable()
      .describe('requests per second the tenant may send, all routes together (null: unlimited)'),
    costPerDayUsd: z
      .number()
      .positive()
      .nullable()
      .describe('US dollars the tenant may spend per UTC day (null: unlimited)'),
  })
  .strict();
export type TenantQuota = z.output<typeof tenantQuotaSchema>;
export type TenantQuotaField = keyof TenantQuota;

/** A JSON merge patch of a quota: the fields to change; null makes a field unlimited. */
export const tenantQuotaPatchSchema = mergePatchOf(tenantQuotaSchema.shape, 'quota');
export type TenantQuotaPatch = z.output<typeof tenantQuotaPatchSchema>;

export interface QuotaDocument {
  tenant: string;
  quota: TenantQuota;
  revision: number;
}

export interface QuotaChange extends QuotaDocument {
  /** The patched fields' values before the change (null: was unlimited); as a patch, it undoes the change. */
  previous: TenantQuotaPatch;
}

/**
 * How far the weights may sum from 1. Weights are stored exactly as written, so an undo restores
 * them bit for bit; the tolerance only forgives decimals like 0.333333 + 0.333333 + 0.333334.
 */
export const WEIGHT_SUM_TOLERANCE = 1e-6;

/** The share of a route's traffic each region serves: non-negative, at least one above 0, summing to 1. */
export const regionWeightsSchema = z
  .record(z.string().min(1), z.number().min(0).max(1).describe("the region's share of the route's traffic, 0 to 1"))
  .superRefine((weights, context) => {
    const values = Object.values(weights);
    if (values.length === 0) {
      context.addIssue({ code: 'custom', message: 'name at least one region, e.g. {"us-east-1": 1}' });
      return;
    }
    if (!values.some((weight) => weight > 0)) {
      context.addIssue({
        code: 'custom',
        message: 'every weight is 0, so the route would serve no traffic: give at least one region a weight above 0',
      });
      return;
    }
    const sum = values.reduce((total, weight) => total + weight, 0);
    if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
      context.addIssue({
        code: 'custom',
        message: `the weights sum to ${Number(sum.toFixed(6))}, not 1: give each region its share of the traffic so the shares add up to 1`,
      });
    }
  })
  .describe('the share of traffic per region, e.g. {"us-east-1": 0.6, "eu-west-1": 0.4}; regions left out get 0');
export type RegionWeights = z.output<typeof regionWeightsSchema>;

/** The body of a region weights replacement (PUT), and the action's params. */
export const regionWeightsUpdateSchema = z.object({ weights: regionWeightsSchema }).strict();
export type RegionWeightsUpdate = z.output<typeof regionWeightsUpdateSchema>;

export interface RegionWeightsDocument {
  route: string;
  /** Every region the route is served in, with its share (0 for a region that gets no traffic). */
  weights: RegionWeights;
  revision: number;
}

export interface RegionWeightsChange extends RegionWeightsDocument {
  /** The weights before the change, as a replacement body: sent back, it undoes the change. */
  previous: RegionWeightsUpdate;
}
