// GatewayAdapter over the Gateway Control API (gateway/openapi.yaml), spoken with axios.
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import { GatewayError, type GatewayAdapter } from './adapter';
import type {
  PolicyChange,
  PolicyDocument,
  PolicyScope,
  QuotaChange,
  QuotaDocument,
  RegionWeightsChange,
  RegionWeightsDocument,
  RegionWeightsUpdate,
  RoutePolicyPatch,
  TenantQuotaPatch,
} from './control-api';

export interface ControlApiClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  /**
   * Tries of one call before its failure goes to the caller; the worker asks for 3, under the activity's own retries.
   * Default 1: every failure goes straight to the caller.
   */
  attempts?: number;
  /** The first backoff; each try doubles it, and a random share of it is waited (full jitter). Default 250 ms. */
  backoffMs?: number;
  /** A Retry-After up to this is waited out here; a longer one fails the call, for the activity to retry. Default 5 s. */
  maxRetryAfterMs?: number;
  /**
   * No try starts that could end (wait plus timeout) past this long after the first began: the caller's own deadline
   * (the activity's start-to-close timeout) stays ahead of the call's. Default: no bound but `attempts`.
   */
  budgetMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry-After in seconds or as an HTTP date (RFC 9110), in ms from now; undefined when absent or unreadable. */
function retryAfterMs(error: unknown): number | undefined {
  if (!isAxiosError(error)) return undefined;
  const header: unknown = error.response?.headers?.['retry-after'];
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

// Statuses where the same request can succeed later: timeouts, conflicts, throttling, server faults.
const RETRYABLE_STATUSES = new Set([408, 409, 412, 425, 429]);

function policyPath({ route, tenant }: PolicyScope): string {
  const routePath = `/v1/routes/${encodeURIComponent(route)}`;
  return tenant === undefined ? `${routePath}/policy` : `${routePath}/tenants/${encodeURIComponent(tenant)}/policy`;
}

const quotaPath = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}/quota`;
const regionsPath = (route: string) => `/v1/routes/${encodeURIComponent(route)}/regions`;

function toGatewayError(error: unknown, what: string): GatewayError {
  if (!isAxiosError(error)) return new GatewayError(`${what} failed: ${String(error)}`, true);
  const status = error.response?.status;
  if (status === undefined)
    return new GatewayError(`${what} failed: ${error.code ?? error.message} (gateway unreachable or too slow)`, true);
  const body = error.response?.data as { error?: { message?: string } } | undefined;
  const detail = body?.error?.message ?? error.message;
  const retryable = status >= 500 || RETRYABLE_STATUSES.has(status);
  return new GatewayError(`${what} answered ${status}: ${detail}`, retryable, status);
}

// Merge patches change the fields they name (RFC 7386); a PUT replaces the whole resource.
const CONTENT_TYPES = { PATCH: 'application/merge-patch+json', PUT: 'application/json' } as const;

export class ControlApiClient implements GatewayAdapter {
  private readonly http: AxiosInstance;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly budgetMs: number;
  private readonly timeoutMs: number;

  constructor({
    baseUrl,
    token,
    timeoutMs,
    attempts = 1,
    backoffMs = 250,
    maxRetryAfterMs = 5_000,
    budgetMs = Infinity,
  }: ControlApiClientOptions) {
    this.http = axios.create({ baseURL: baseUrl, timeout: timeoutMs, headers: { Authorization: `Bearer ${token}` } });
    this.attempts = attempts;
    this.backoffMs = backoffMs;
    this.maxRetryAfterMs = maxRetryAfterMs;
    this.budgetMs = budgetMs;
    this.timeoutMs = timeoutMs;
  }

  /**
   * One call, tried again on a retryable failure (5xx, 429, a timeout): after the Retry-After the gateway asked
   * for, else after an exponential backoff with full jitter, so that many runs retrying at once spread out instead
   * of hitting a recovering gateway together. Writes are safe to repeat: they carry an Idempotency-Key.
   */
  private async send<Result>(what: string, request: () => Promise<{ data: Result }>): Promise<Result> {
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        return (await request()).data;
      } catch (error) {
        const failure = toGatewayError(error, what);
        const asked = retryAfterMs(error);
        if (!failure.retryable || attempt >= this.attempts || (asked ?? 0) > this.maxRetryAfterMs) throw failure;
        const jitter = Math.random() * this.backoffMs * 2 ** (attempt - 1);
        // A Retry-After is a floor: waited in full, plus a little jitter so the callers it throttled do not return together.
        const wait = asked === undefined ? jitter : asked + jitter / 4;
        if (Date.now() - started + wait + this.timeoutMs > this.budgetMs) throw failure;
        await sleep(wait);
      }
    }
  }

  getRoutePolicy(scope: PolicyScope): Promise<PolicyDocument> {
    return this.read(policyPath(scope));
  }

  patchRoutePolicy(
    scope: PolicyScope,
    patch: RoutePolicyPatch,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<PolicyChange> {
    return this.write('PATCH', policyPath(scope), patch, idempotencyKey);
  }

  getTenantQuota(tenant: string): Promise<QuotaDocument> {
    return this.read(quotaPath(tenant));
  }

  patchTenantQuota(
    tenant: string,
    patch: TenantQuotaPatch,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<QuotaChange> {
    return this.write('PATCH', quotaPath(tenant), patch, idempotencyKey);
  }

  getRegionWeights(route: string): Promise<RegionWeightsDocument> {
    return this.read(regionsPath(route));
  }

  setRegionWeights(
    route: string,
    update: RegionWeightsUpdate,
    { idempotencyKey }: { idempotencyKey: string },
  ): Promise<RegionWeightsChange> {
    return this.write('PUT', regionsPath(route), update, idempotencyKey);
  }

  private read<Document>(path: string): Promise<Document> {
    return this.send(`gateway GET ${path}`, () => this.http.get<Document>(path));
  }

  private write<Change>(
    method: keyof typeof CONTENT_TYPES,
    path: string,
    body: unknown,
    idempotencyKey: string,
  ): Promise<Change> {
    return this.send(`gateway ${method} ${path}`, () =>
      this.http.request<Change>({
        method,
        url: path,
        data: body,
        headers: { 'Content-Type': CONTENT_TYPES[method], 'Idempotency-Key': idempotencyKey },
      }),
    );
  }
}
