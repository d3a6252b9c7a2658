// Incidents injected into the load model: what each kind does, how big it is, and when it applies.
import { z } from 'zod';

const name = (what: string) =>
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a lowercase name (letters, digits, . _ -)')
    .describe(`the ${what} the incident hits`);
const tenant = name('tenant (absent: every tenant)').optional();
const route = name('route (absent: every route)').optional();
const durationSeconds = z
  .number()
  .positive()
  .max(7 * 86_400)
  .optional()
  .describe('how long the incident lasts, in seconds, up to 7 days (absent: until cleared)');

export const incidentSpecSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('spend_spike'),
      tenant,
      route,
      magnitude: z
        .number()
        .gt(0)
        .max(1_000)
        .describe('the factor the matching traffic is multiplied by, e.g. 5 for five times the requests'),
      durationSeconds,
    })
    .strict(),
  z
    .object({
      kind: z.literal('context_blowup'),
      tenant,
      route,
      magnitude: z
        .number()
        .gt(0)
        .max(1_000)
        .describe('the factor prompt sizes are multiplied by, e.g. 8 (the route cap still applies)'),
      durationSeconds,
    })
    .strict(),
  z
    .object({
      kind: z.literal('cache_collapse'),
      tenant,
      route,
      magnitude: z
        .number()
        .gt(0)
        .max(1)
        .describe('the share of the cache hit ratio lost, from just above 0 to 1 (1: nothing is answered from cache)'),
      durationSeconds,
    })
    .strict(),
  z
    .object({
      kind: z.literal('gpu_saturation'),
      deployment: name('deployment, e.g. llm-premium-us-east-1,'),
      magnitude: z
        .number()
        .min(1)
        .max(1_000)
        .describe(
          "the factor the deployment's throughput is divided by, e.g. 2 halves its requests per second per replica",
        ),
      durationSeconds,
    })
    .strict(),
]);
export type IncidentSpec = z.output<typeof incidentSpecSchema>;
export type IncidentKind = IncidentSpec['kind'];

export interface Incident {
  id: string;
  kind: IncidentKind;
  tenant: string | null;
  route: string | null;
  deployment: string | null;
  magnitude: number;
  startsAtMs: number;
  /** null: lasts until cleared. */
  endsAtMs: number | null;
}

/** An incident that names something the platform does not have: which field, and what would be valid. */
export class IncidentTargetError extends Error {
  constructor(
    readonly field: 'tenant' | 'route' | 'deployment',
    message: string,
  ) {
    super(message);
  }
}

export const isActive = (incident: Incident, atMs: number) =>
  incident.startsAtMs <= atMs && (incident.endsAtMs === null || atMs < incident.endsAtMs);

/** Does a tenant/route incident cover this stream? Absent tenant or route means all of them. */
export const covers = (incident: Incident, tenantName: string, routeName: string) =>
  (incident.tenant === null || incident.tenant === tenantName) &&
  (incident.route === null || incident.route === routeName);
