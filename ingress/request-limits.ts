// How much each kind of endpoint takes: a body size and a request rate. Beyond the size a request is a
// 413; beyond the rate the webhook sheds with 503 + Retry-After, because Alertmanager drops a
// notification answered 4xx and retries a 5xx (its notify package: a 4xx is not retryable); the
// runs API, Slack and the probes answer 429 + Retry-After, which people's clients and kubelets
// understand. The rate is counted by @fastify/rate-limit (fixed one-second windows, in memory: each
// ingress replica has its own).
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEFAULT_RATE_LIMITS } from '../config/config-schema';

export { DEFAULT_RATE_LIMITS };

export type EndpointKind = 'webhook' | 'runs' | 'slack' | 'probes';

/** Requests a second (a window, for tests) each kind of endpoint takes. */
export type RateLimits = Record<EndpointKind, number>;

/**
 * Alertmanager's payloads stay far below 8 MiB even with thousands of alerts; a manual start is bounded by what a run
 * may carry (1 MiB); a Slack click carries its message, a few KiB; probes and reads have no body worth the name.
 */
export const BODY_LIMIT_BYTES: Record<EndpointKind, number> = {
  webhook: 8 * 1024 * 1024,
  runs: 1024 * 1024,
  slack: 256 * 1024,
  probes: 1024,
};

export const RATE_LIMITED = 'FINOPS_SOAR_RATE_LIMITED';

export function endpointKind(url: string): EndpointKind {
  if (url.startsWith('/alerts/')) return 'webhook';
  if (url.startsWith('/slack/')) return 'slack';
  if (url.startsWith('/v1/')) return 'runs';
  return 'probes';
}

/**
 * Who shares a rate: every Alertmanager shares the webhook's and Slack shares one (both protect Temporal behind them,
 * and both senders come from many addresses); operators and kubelets are counted per address.
 */
function rateKey(request: FastifyRequest): string {
  const kind = endpointKind(request.url);
  return kind === 'webhook' || kind === 'slack' ? kind : `${kind}:${request.ip}`;
}

/** Sets each route's body limit by its kind. Call before any route is added. */
export function limitBodies(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= BODY_LIMIT_BYTES[endpointKind(route.url)];
  });
}

/** Counts requests per kind and answers those over the rate, on the routes registered in later plugins. */
export function limitRates(app: FastifyInstance, limits: RateLimits, windowMs = 1_000): void {
  void app.register(rateLimit, {
    timeWindow: windowMs,
    max: (request) => limits[endpointKind(request.url)],
    keyGenerator: rateKey,
    errorResponseBuilder: (request, { after, max }) => {
      const kind = endpointKind(request.url);
      const error = new Error(
        `more than ${max} requests ${windowMs === 1_000 ? 'a second' : `in ${windowMs} ms`} to the ${kind === 'runs' ? 'runs API' : kind} endpoints; retry in ${after}`,
      ) as Error & { statusCode: number; code: string };
      error.statusCode = kind === 'webhook' ? 503 : 429;
      error.code = RATE_LIMITED;
      return error;
    },
  });
}
