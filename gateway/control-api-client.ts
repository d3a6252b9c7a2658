// GatewayAdapter over the Gateway Control API (gateway/openapi.yaml), spoken with axios.
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import { GatewayError, type GatewayAdapter } from './adapter';
import { withWireRetries, type WireRetries } from './wire-retries';
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

export interface ControlApiClientOptions extends WireRetries {
  baseUrl: string;
  token: string;
  timeoutMs: number;
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
  private readonly retries: WireRetries;
  private readonly timeoutMs: number;

  constructor({ baseUrl, token, timeoutMs, ...retries }: ControlApiClientOptions) {
    this.http = axios.create({ baseURL: baseUrl, timeout: timeoutMs, headers: { Authorization: `Bearer ${token}` } });
    this.retries = retries;
    this.timeoutMs = timeoutMs;
  }

  /** One call, tried again on a retryable failure (wire-retries.ts). Writes are safe to repeat: they carry an Idempotency-Key. */
  private async send<Result>(what: string, request: () => Promise<{ data: Result }>): Promise<Result> {
    return withWireRetries(
      this.retries,
      this.timeoutMs,
      async () => (await request()).data,
      (error) => toGatewayError(error, what),
    );
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
