// The simulator's route policies: route defaults, tenant overrides, revisions (ETags),
// idempotency records and a log of every change actually applied.
import { createHash } from 'node:crypto';
import {
  routePolicySchema,
  type PolicyChange,
  type PolicyDocument,
  type PolicyScope,
  type PreviousValues,
  type RoutePolicy,
  type RoutePolicyField,
  type RoutePolicyPatch,
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

export interface AppliedChange {
  at: string;
  route: string;
  tenant: string | null;
  patch: RoutePolicyPatch;
  previous: PreviousValues;
  idempotencyKey: string | null;
  revision: number;
}

interface Scoped {
  policy: Partial<RoutePolicy>;
  revision: number;
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

/** The routes the simulated platform serves, with their policies at start. */
export const SEED_ROUTES: Record<string, Partial<RoutePolicy>> = {
  chat: {},
  summarize: { maxInputTokens: 65_536 },
  'code-assist': { maxInputTokens: 16_384 },
  embeddings: { maxInputTokens: 8_192, cacheMode: 'aggressive', modelTier: 'standard' },
  core: { priority: 9, circuit: { state: 'closed', failMode: 'closed' } },
  risk: { priority: 9, circuit: { state: 'closed', failMode: 'closed' } },
  fraud: { priority: 10, circuit: { state: 'closed', failMode: 'closed' } },
};

const scopeKey = ({ route, tenant }: PolicyScope) => (tenant === undefined ? route : `${route}\u0000${tenant}`);
const fingerprint = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

export class PolicyStore {
  private readonly scopes = new Map<string, Scoped>();
  private readonly idempotency = new Map<string, { request: string; change: PolicyChange }>();
  readonly changes: AppliedChange[] = [];

  constructor(routes: Record<string, Partial<RoutePolicy>> = SEED_ROUTES) {
    for (const [route, policy] of Object.entries(routes)) {
      this.scopes.set(route, { policy: { ...DEFAULT_POLICY, ...policy }, revision: 1 });
    }
  }

  get(scope: PolicyScope): PolicyDocument {
    const route = this.routeScope(scope.route);
    const own = scope.tenant === undefined ? route : this.scopes.get(scopeKey(scope));
    return {
      route: scope.route,
      tenant: scope.tenant ?? null,
      policy: structuredClone(own?.policy ?? {}),
      effective: structuredClone({ ...(route.policy as RoutePolicy), ...(own?.policy ?? {}) }),
      revision: own?.revision ?? 0,
    };
  }

  /**
   * Applies a JSON merge patch. With an idempotency key seen before, answers the first result and
   * changes nothing; `ifMatch` (a revision) guards against lost updates.
   */
  patch(scope: PolicyScope, patch: RoutePolicyPatch, options: { idempotencyKey?: string; ifMatch?: number } = {}): { change: PolicyChange; replayed: boolean } {
    const request = fingerprint({ scope: scopeKey(scope), patch });
    const { idempotencyKey, ifMatch } = options;
    const earlier = idempotencyKey === undefined ? undefined : this.idempotency.get(idempotencyKey);
    if (earlier) {
      if (earlier.request !== request) {
        throw new PolicyStoreError(422, 'idempotency_key_reused', `Idempotency-Key ${idempotencyKey} was already used for a different request; use a new key`);
      }
      return { change: structuredClone(earlier.change), replayed: true };
    }

    const current = this.get(scope);
    if (ifMatch !== undefined && ifMatch !== current.revision) {
      throw new PolicyStoreError(412, 'revision_mismatch', `the policy is at revision ${current.revision}, not ${ifMatch}; read it again and retry`);
    }
    const previous: PreviousValues = {};
    const next: Partial<RoutePolicy> = { ...current.policy };
    for (const [field, value] of Object.entries(patch) as Array<[RoutePolicyField, unknown]>) {
      previous[field] = current.policy[field] ?? null;
      if (value === null && scope.tenant !== undefined) delete next[field];
      else (next as Record<string, unknown>)[field] = value;
    }
    const valid = (scope.tenant === undefined ? routePolicySchema : routePolicySchema.partial()).safeParse(next);
    if (!valid.success) {
      throw new PolicyStoreError(422, 'invalid_policy', valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }

    const revision = current.revision + 1;
    this.scopes.set(scopeKey(scope), { policy: next, revision });
    const change: PolicyChange = { ...this.get(scope), previous };
    this.changes.push({ at: new Date().toISOString(), route: scope.route, tenant: scope.tenant ?? null, patch, previous, idempotencyKey: idempotencyKey ?? null, revision });
    if (idempotencyKey !== undefined) this.idempotency.set(idempotencyKey, { request, change: structuredClone(change) });
    return { change, replayed: false };
  }

  private routeScope(route: string): Scoped {
    const scoped = this.scopes.get(route);
    if (!scoped) throw new PolicyStoreError(404, 'route_not_found', `route ${route} does not exist; known routes: ${this.routes().join(', ')}`);
    return scoped;
  }

  routes(): string[] {
    return [...this.scopes.keys()].filter((key) => !key.includes('\u0000'));
  }
}
