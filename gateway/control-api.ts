// The Gateway Control API's data model (see gateway/openapi.yaml): per-route policy, set for a
// whole route or overridden for one tenant on it. Shared by the HTTP client and the simulator.
import { z } from 'zod';

export const routePolicySchema = z
  .object({
    maxInputTokens: z.number().int().positive().nullable().describe('the largest prompt, in tokens, the route accepts (null: no cap)'),
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

type PolicyShape = typeof routePolicySchema.shape;
const patchFields = Object.fromEntries(Object.entries(routePolicySchema.shape).map(([field, schema]) => [field, schema.nullable().optional()])) as {
  [Field in keyof PolicyShape]: z.ZodOptional<z.ZodNullable<PolicyShape[Field]>>;
};

/**
 * A JSON merge patch (RFC 7386) of a policy: the fields to change. In a tenant's scope null removes
 * the override; in a route's scope null is allowed only where the field itself is nullable.
 */
export const routePolicyPatchSchema = z
  .object(patchFields)
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, { message: 'the patch changes nothing: name at least one policy field' });
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
