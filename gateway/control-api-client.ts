// GatewayAdapter over the Gateway Control API (gateway/openapi.yaml), spoken with axios.
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import { GatewayError, type GatewayAdapter } from './adapter';
import type { PolicyChange, PolicyDocument, PolicyScope, RoutePolicyPatch } from './control-api';

export interface ControlApiClientOptions {
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

function toGatewayError(error: unknown, what: string): GatewayError {
  if (!isAxiosError(error)) return new GatewayError(`${what} failed: ${String(error)}`, true);
  const status = error.response?.status;
  if (status === undefined) return new GatewayError(`${what} failed: ${error.code ?? error.message} (gateway unreachable or too slow)`, true);
  const body = error.response?.data as { error?: { message?: string } } | undefined;
  const detail = body?.error?.message ?? error.message;
  const retryable = status >= 500 || RETRYABLE_STATUSES.has(status);
  return new GatewayError(`${what} answered ${status}: ${detail}`, retryable, status);
}

export class ControlApiClient implements GatewayAdapter {
  private readonly http: AxiosInstance;

  constructor({ baseUrl, token, timeoutMs }: ControlApiClientOptions) {
    this.http = axios.create({ baseURL: baseUrl, timeout: timeoutMs, headers: { Authorization: `Bearer ${token}` } });
  }

  async getRoutePolicy(scope: PolicyScope): Promise<PolicyDocument> {
    const path = policyPath(scope);
    try {
      return (await this.http.get<PolicyDocument>(path)).data;
    } catch (error) {
      throw toGatewayError(error, `gateway GET ${path}`);
    }
  }

  async patchRoutePolicy(scope: PolicyScope, patch: RoutePolicyPatch, { idempotencyKey }: { idempotencyKey: string }): Promise<PolicyChange> {
    const path = policyPath(scope);
    try {
      const response = await this.http.patch<PolicyChange>(path, patch, {
        headers: { 'Content-Type': 'application/merge-patch+json', 'Idempotency-Key': idempotencyKey },
      });
      return response.data;
    } catch (error) {
      throw toGatewayError(error, `gateway PATCH ${path}`);
    }
  }
}
