// The simulator's gateway state: route policies with tenant overrides, tenant quotas and per-route
// region weights. All three are written through one path: a revision per resource (the ETag),
// idempotency records keyed by key + request fingerprint, and a log of every change applied.
import { createHash } from 'node:crypto';
import {
  routePolicySchema,
  type PolicyChange,
  type PolicyDocument,
  type PolicyScope,
  type PreviousValues,
  type QuotaChange,
  type QuotaDocument,
  type RegionWeights,
  type RegionWeightsChange,
  type RegionWeightsDocument,
  type RegionWeightsUpdate,
  type RoutePolicy,
  type RoutePolicyField,
  type RoutePolicyPatch,
  type TenantQuota,
  type TenantQuotaField,
  type TenantQuotaPatch,
} from '../gateway/control-api';

export class PolicyStoreError extends Error {
  constructor(
    readonly status: 404 | 412 | 422,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface ChangeRecord<Resource extends string, Body, Previous> {
  at: string;
  /** What was changed: a route's or tenant's policy, a tenant's quota, a route's region weights. */
  resource: Resource;
  route: string | null;
  tenant: string | null;
  /** The request body as applied: a merge patch (policy, quota) or the whole replacement (regions). */
  patch: Body;
  /** The values the change replaced, as a body that undoes it when sent to the same resource. */
  previous: Previous;
  idempotencyKey: string | null;
  /** The resource's revision after the change. */
  revision: number;
}

export type AppliedChange =
  | (ChangeRecord<'policy', RoutePolicyPatch, PreviousValues> & { route: string })
  | (ChangeRecord<'quota', TenantQuotaPatch, TenantQuotaPatch> & { route: null; tenant: string })
  | (ChangeRecord<'regions', RegionWeightsUpdate, RegionWeightsUpdate> & { route: string; tenant: null });

export interface WriteOptions {
  /** A key seen before with the same request answers the first result and changes nothing. */
  idempotencyKey?: string | undefined;
  /** The revision the change is based on; another current revision refuses it (412). */
  ifMatch?: number | undefined;
}

export interface Written<Change> {
  change: Change;
  /** True when this answers an earlier request with the same idempotency key. */
  replayed: boolean;
}

interface Versioned<State> {
  state: State;
  revision: number;
}

/** One write through the shared path: which resource, its current document, and the new state. */
interface Write<State, Document extends { revision: number }, Previous> {
  change: Omit<AppliedChange, 'at' | 'previous' | 'idempotencyKey' | 'revision'>;
  /** Names the resource in a 412, e.g. `the quota of tenant acme`. */
  label: string;
  records: Map<string, Versioned<State>>;
  key: string;
  /** The resource's current document; throws 404 when it does not exist. */
  read: () => Document;
  /** The state after the change and the values it replaces; throws 422 when the result is invalid. */
  next: (current: Document) => { state: State; previous: Previous };
}

const DEFAULT_POLICY: RoutePolicy = {
  maxInputTokens: 32_768,
  cacheMode: 'standard',
  modelTier: 'premium',
  fallbackModel: null,
  rateLimitRps: null,
  circuit: { state: 'closed', failMode: 'open' },
  priority: 5,
  promptCompression: false,
};

const UNLIMITED: TenantQuota = { tokensPerDay: null, requestsPerSecond: null, costPerDayUsd: null };

export interface SeedRoute {
  /** Overrides of the default policy. */
  policy: Partial<RoutePolicy>;
  /** The regions the route is served in, with their starting shares of its traffic (summing to 1). */
  regions: RegionWeights;
}

export interface Seed {
  routes?: Record<string, SeedRoute>;
  tenants?: Record<string, TenantQuota>;
}

// Every route is served from both regions the simulated platform has GPU deployments in
// (simulator/platform/catalog.ts), split as its premium capacity is (10 replicas to 7).
const TWO_REGIONS: RegionWeights = { 'us-east-1': 0.6, 'eu-west-1': 0.4 };

/** The routes the simulated platform serves, with their policies and region weights at start. */
export const SEED_ROUTES: Record<string, SeedRoute> = {
  chat: { policy: {}, regions: TWO_REGIONS },
  summarize: { policy: { maxInputTokens: 65_536 }, regions: TWO_REGIONS },
  'code-assist': { policy: { maxInputTokens: 16_384 }, regions: TWO_REGIONS },
  embeddings: {
    policy: { maxInputTokens: 8_192, cacheMode: 'aggressive', modelTier: 'standard' },
    regions: TWO_REGIONS,
  },
  core: { policy: { priority: 9, circuit: { state: 'closed', failMode: 'closed' } }, regions: TWO_REGIONS },
  risk: { policy: { priority: 9, circuit: { state: 'closed', failMode: 'closed' } }, regions: TWO_REGIONS },
  fraud: { policy: { priority: 10, circuit: { state: 'closed', failMode: 'closed' } }, regions: TWO_REGIONS },
};

/**
 * The tenants with a quota at start. Each customer's limits sit at about twice what the simulated
 * platform's normal load uses in a day (acme: 42 req/s, 8.4 B tokens, $43k), so ordinary days
 * never reach them and a sustained spike does. `internal` carries the protected core, risk and
 * fraud traffic and is never quota-limited. Any other tenant is unlimited until given a quota.
 */
export const SEED_TENANTS: Record<string, TenantQuota> = {
  acme: { tokensPerDay: 16_000_000_000, requestsPerSecond: 120, costPerDayUsd: 85_000 },
  globex: { tokensPerDay: 14_000_000_000, requestsPerSecond: 80, costPerDayUsd: 70_000 },
  initech: { tokensPerDay: 12_000_000_000, requestsPerSecond: 60, costPerDayUsd: 65_000 },
  umbrella: { tokensPerDay: 8_000_000_000, requestsPerSecond: 70, costPerDayUsd: 40_000 },
  internal: UNLIMITED,
};

const scopeKey = ({ route, tenant }: PolicyScope) => (tenant === undefined ? route : `${route}\u0000${tenant}`);
const fingerprint = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');
const invalid = (code: string, issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>) =>
  new PolicyStoreError(
    422,
    code,
    issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`).join('; '),
  );

/** What the simulated platform reads to decide how requests are served; every answer is a copy. */
export type PolicyView = Pick<PolicyStore, 'effectivePolicy' | 'tenantQuota' | 'regionWeights' | 'routes' | 'tenants'>;

export class PolicyStore {
  private readonly policies = new Map<string, Versioned<Partial<RoutePolicy>>>();
  private readonly quotas = new Map<string, Versioned<TenantQuota>>();
  private readonly regions = new Map<string, Versioned<RegionWeights>>();
  private readonly idempotency = new Map<string, { request: string; change: unknown }>();
  readonly changes: AppliedChange[] = [];

  constructor({ routes = SEED_ROUTES, tenants = SEED_TENANTS }: Seed = {}) {
    for (const [route, { policy, regions }] of Object.entries(routes)) {
      this.policies.set(route, { state: structuredClone({ ...DEFAULT_POLICY, ...policy }), revision: 1 });
      this.regions.set(route, { state: { ...regions }, revision: 1 });
    }
    for (const [tenant, quota] of Object.entries(tenants))
      this.quotas.set(tenant, { state: { ...quota }, revision: 1 });
  }

  get(scope: PolicyScope): PolicyDocument {
    const route = this.routePolicy(scope.route);
    const own = scope.tenant === undefined ? route : this.policies.get(scopeKey(scope));
    return {
      route: scope.route,
      tenant: scope.tenant ?? null,
      policy: structuredClone(own?.state ?? {}),
      effective: structuredClone({ ...(route.state as RoutePolicy), ...(own?.state ?? {}) }),
      revision: own?.revision ?? 0,
    };
  }

  /**
   * Applies a JSON merge patch to a route's policy or a tenant's overrides. With an idempotency
   * key seen before, answers the first result and changes nothing; `ifMatch` guards against lost updates.
   */
  patch(scope: PolicyScope, patch: RoutePolicyPatch, options: WriteOptions = {}): Written<PolicyChange> {
    return this.write(options, {
      change: { resource: 'policy', route: scope.route, tenant: scope.tenant ?? null, patch },
      label:
        scope.tenant === undefined
          ? `the policy of route ${scope.route}`
          : `the policy of tenant ${scope.tenant} on route ${scope.route}`,
      records: this.policies,
      key: scopeKey(scope),
      read: () => this.get(scope),
      next: (current) => {
        const previous: PreviousValues = {};
        const next: Partial<RoutePolicy> = { ...current.policy };
        for (const [field, value] of Object.entries(patch) as Array<[RoutePolicyField, unknown]>) {
          previous[field] = current.policy[field] ?? null;
          if (value === null && scope.tenant !== undefined) delete next[field];
          else (next as Record<string, unknown>)[field] = value;
        }
        const valid = (scope.tenant === undefined ? routePolicySchema : routePolicySchema.partial()).safeParse(next);
        if (!valid.success) throw invalid('invalid_policy', valid.error.issues);
        return { state: next, previous };
      },
    });
  }

  /** A tenant's quota; a tenant without one is unlimited, at revision 0. */
  getQuota(tenant: string): QuotaDocument {
    const own = this.quotas.get(tenant);
    return { tenant, quota: { ...(own?.state ?? UNLIMITED) }, revision: own?.revision ?? 0 };
  }

  /** Applies a JSON merge patch to a tenant's quota (null: unlimited), with the same keys and revisions as policies. */
  patchQuota(tenant: string, patch: TenantQuotaPatch, options: WriteOptions = {}): Written<QuotaChange> {
    return this.write(options, {
      change: { resource: 'quota', route: null, tenant, patch },
      label: `the quota of tenant ${tenant}`,
      records: this.quotas,
      key: tenant,
      read: () => this.getQuota(tenant),
      next: ({ quota }) => {
        const fields = Object.keys(patch) as TenantQuotaField[];
        return {
          state: { ...quota, ...patch },
          previous: Object.fromEntries(fields.map((field) => [field, quota[field]])),
        };
      },
    });
  }

  /**
   * A route's region weights, every region it is served in included, as written (they sum to 1 within
   * WEIGHT_SUM_TOLERANCE).
   */
  getRegionWeights(route: string): RegionWeightsDocument {
    const own = this.routeRegions(route);
    return { route, weights: { ...own.state }, revision: own.revision };
  }

  /**
   * Replaces a route's region weights; served regions left out get 0, others are refused (422).
   * The body's own constraints (non-negative, summing to 1) are the schema's, checked by the server.
   */
  putRegionWeights(
    route: string,
    update: RegionWeightsUpdate,
    options: WriteOptions = {},
  ): Written<RegionWeightsChange> {
    return this.write(options, {
      change: { resource: 'regions', route, tenant: null, patch: update },
      label: `the region weights of route ${route}`,
      records: this.regions,
      key: route,
      read: () => this.getRegionWeights(route),
      next: ({ weights }) => {
        const served = Object.keys(weights);
        const unserved = Object.keys(update.weights).filter((region) => !served.includes(region));
        if (unserved.length > 0) {
          throw new PolicyStoreError(
            422,
            'invalid_weights',
            `route ${route} is not served in ${unserved.join(', ')}; its regions are ${served.join(', ')}`,
          );
        }
        const state = Object.fromEntries(
          served.map((region) => [region, Object.hasOwn(update.weights, region) ? update.weights[region]! : 0]),
        );
        return { state, previous: { weights } };
      },
    });
  }

  /** What requests on `route` (from `tenant`) get: the route's policy with the tenant's overrides. */
  effectivePolicy(route: string, tenant?: string): RoutePolicy {
    return this.get(tenant === undefined ? { route } : { route, tenant }).effective;
  }

  /** The tenant's limits; null is unlimited. */
  tenantQuota(tenant: string): TenantQuota {
    return this.getQuota(tenant).quota;
  }

  /** The share of the route's traffic each region serves, scaled to sum to exactly 1. */
  regionWeights(route: string): RegionWeights {
    const { weights } = this.getRegionWeights(route);
    const sum = Object.values(weights).reduce((total, weight) => total + weight, 0);
    return Object.fromEntries(Object.entries(weights).map(([region, weight]) => [region, weight / sum]));
  }

  routes(): string[] {
    return [...this.regions.keys()];
  }

  /** Tenants with a quota (seeded or set since); any other tenant is unlimited. */
  tenants(): string[] {
    return [...this.quotas.keys()];
  }

  /**
   * The one write path. Checks, in order: the idempotency key (a replay answers the first result,
   * a reuse for another request is a 422), the resource (404), `ifMatch` (412), the new state
   * (422); only then applies it, adds 1 to the revision, logs it and records the key.
   */
  private write<State, Document extends { revision: number }, Previous>(
    { idempotencyKey, ifMatch }: WriteOptions,
    { change, label, records, key, read, next }: Write<State, Document, Previous>,
  ): Written<Document & { previous: Previous }> {
    const request = fingerprint({
      resource: change.resource,
      route: change.route,
      tenant: change.tenant,
      body: change.patch,
    });
    const earlier = idempotencyKey === undefined ? undefined : this.idempotency.get(idempotencyKey);
    if (earlier) {
      if (earlier.request !== request) {
        throw new PolicyStoreError(
          422,
          'idempotency_key_reused',
          `Idempotency-Key ${idempotencyKey} was already used for a different request; use a new key`,
        );
      }
      return { change: structuredClone(earlier.change as Document & { previous: Previous }), replayed: true };
    }

    const current = read();
    if (ifMatch !== undefined && ifMatch !== current.revision) {
      throw new PolicyStoreError(
        412,
        'revision_mismatch',
        `If-Match names revision ${ifMatch} of ${label}, but the current revision is ${current.revision}: read it again and retry`,
      );
    }
    const { state, previous } = next(current);
    const revision = current.revision + 1;
    records.set(key, { state, revision });
    const answer = { ...read(), previous };
    this.changes.push(
      structuredClone({
        at: new Date().toISOString(),
        ...change,
        previous,
        idempotencyKey: idempotencyKey ?? null,
        revision,
      }) as AppliedChange,
    );
    if (idempotencyKey !== undefined)
      this.idempotency.set(idempotencyKey, { request, change: structuredClone(answer) });
    return { change: answer, replayed: false };
  }

  private routePolicy(route: string): Versioned<Partial<RoutePolicy>> {
    const scoped = this.policies.get(route);
    if (!scoped) throw this.routeNotFound(route);
    return scoped;
  }

  private routeRegions(route: string): Versioned<RegionWeights> {
    const regions = this.regions.get(route);
    if (!regions) throw this.routeNotFound(route);
    return regions;
  }

  private routeNotFound(route: string): PolicyStoreError {
    return new PolicyStoreError(
      404,
      'route_not_found',
      `route ${route} does not exist; known routes: ${this.routes().join(', ')}`,
    );
  }
}
