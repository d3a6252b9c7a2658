// The ingress HTTP server: the Alertmanager webhook and the operators' runs API, with the
// authentication, load shedding and error answers they share.
import type { Client } from '@temporalio/client';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { isAuthorized, type Credentials } from './credentials';
import type { Logger } from '../observability/logger';
import type { RunDefaults } from '../alerts/routing';
import type { Approvers, Directory } from '../approvals/approvers';
import type { Playbook } from '../playbook/playbook-schema';
import { registerAlertmanagerWebhook } from './alertmanager-webhook';
import { registerRunsApi } from './runs-api';
import { registerCapaApi } from './capa-api';
import { MAX_WORKFLOW_ID_BYTES } from './run-dispatch';
import { registerSlackEndpoints } from './slack-routes';
import type { SlackViews } from './slack-capa';
import {
  BODY_LIMIT_BYTES,
  DEFAULT_RATE_LIMITS,
  limitBodies,
  limitRates,
  RATE_LIMITED,
  type RateLimits,
} from './request-limits';
import { temporalUnanswered } from '../temporal/readiness';
import { IngressMetrics } from '../observability/ingress-metrics';

export interface IngressOptions {
  client: Client;
  taskQueue: string;
  playbooks: readonly Playbook[];
  credentials: Credentials;
  runDefaults: RunDefaults;
  temporalTimeoutMs: number;
  /** The Alertmanager peers to read a truncated notification's full alert set from; none: not read. */
  alertmanagerUrls?: readonly string[] | undefined;
  /** Who may approve (approvals.approvers), and Slack's user groups when Slack is configured. */
  approvers: Approvers;
  directory?: Directory | undefined;
  /** Operator id → token, for decisions over the runs API. */
  operatorTokens: Record<string, string>;
  /** Who may close a CAPA (finops.capa.closers); absent, its playbook's approvers. */
  capaClosers?: readonly string[] | undefined;
  /** With Slack configured: opens the CAPA form (views.open). */
  slackViews?: SlackViews | undefined;
  /** With Slack configured: the signing secret its interactivity requests are checked against. */
  slackSigningSecret?: string | undefined;
  /** Requests in progress beyond this are answered 503, which Alertmanager retries later. */
  maxInFlight: number;
  /** How long an alert Temporal accepted absorbs its unchanged repeats (ingress.repeatWindow); 0: never. */
  repeatWindowMs?: number | undefined;
  /** Requests a second each kind of endpoint takes (request-limits.ts); default DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimits | undefined;
  /** What the ingress counts, served on GET /metrics; a registry of its own by default. */
  metrics?: IngressMetrics | undefined;
  /** The window the rates count over (1 s): tests widen it so that no request falls into the next one. */
  rateWindowMs?: number | undefined;
  logger: Logger;
}

/** Answered without credentials, like a kubelet's probes and a Prometheus scrape. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);
/** How long /readyz waits for Temporal: give the readiness probe a timeoutSeconds above it. */
const READY_TIMEOUT_MS = 2_000;

export function buildIngressApp(ingressOptions: IngressOptions): FastifyInstance {
  const options = { ...ingressOptions, metrics: ingressOptions.metrics ?? new IngressMetrics() };
  const loggerInstance: FastifyBaseLogger = options.logger;
  // A run's id is a path parameter of the runs API: fastify's default of 100 characters refused (414) many real ids,
  // e.g. a route and a tenant of 40 characters each; any id Temporal takes (1000 bytes) fits, even percent-encoded.
  const app = Fastify({
    loggerInstance,
    // A line for each probe and scrape (every few seconds, from kubelets and Prometheus) would bury the rest.
    logController: new LogController({ disableRequestLogging: (request) => PROBES.has(request.url ?? '') }),
    bodyLimit: BODY_LIMIT_BYTES.webhook,
    routerOptions: { maxParamLength: 3 * MAX_WORKFLOW_ID_BYTES },
  });
  // Alertmanager sends JSON only; anything else is answered 415 rather than parsed as text.
  app.removeContentTypeParser('text/plain');
  let inFlight = 0;

  limitBodies(app);
  limitRates(app, options.rateLimits ?? DEFAULT_RATE_LIMITS, options.rateWindowMs);

  app.addHook('onRequest', async (request, reply) => {
    // Slack signs its requests instead: the interactivity endpoint checks the signature itself.
    if (PROBES.has(request.url) || (options.slackSigningSecret && request.url.startsWith('/slack/'))) return;
    if (!isAuthorized(request.headers.authorization, options.credentials)) {
      await reply
        .code(401)
        .header(
          'WWW-Authenticate',
          options.credentials.token ? 'Bearer realm="finops-soar"' : 'Basic realm="finops-soar"',
        )
        .send({ error: 'missing or wrong credentials' });
      return;
    }
    if (inFlight >= options.maxInFlight) {
      await reply
        .code(503)
        .header('Retry-After', '5')
        .send({ error: `overloaded: ${inFlight} requests in progress; retry later` });
      return;
    }
    inFlight++;
    reply.raw.once('close', () => inFlight--);
  });

  app.addHook('onResponse', (request, reply, done) => {
    if (!PROBES.has(request.url)) {
      const endpoint = request.routeOptions.url ?? 'unmatched';
      options.metrics.observeRequest(endpoint, reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (error.code === RATE_LIMITED) request.log.warn({ url: request.url }, error.message);
    else if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message =
      error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? 'the body must be JSON (Content-Type: application/json)'
        : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
          ? 'the body is empty; send an Alertmanager webhook payload'
          : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? `the body is larger than ${request.routeOptions.bodyLimit ?? BODY_LIMIT_BYTES.webhook} bytes`
            : error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
              ? `the body is not valid JSON: ${error.message}`
              : status < 500 || error.code === RATE_LIMITED
                ? error.message
                : 'internal error';
    return reply.code(status).send({ error: message });
  });

  // In a plugin of their own, so that the routes are added once the rate limits' plugin is loaded and counts them.
  void app.register((routes, _options, done) => {
    // Probes answer without credentials: liveness (the process answers) and readiness (Temporal does).
    routes.get('/healthz', () => ({ status: 'ok' }));
    routes.get('/readyz', async (_request, reply) => {
      const reason = await temporalUnanswered(options.client, READY_TIMEOUT_MS);
      return reason ? reply.code(503).send({ status: 'not ready', reason }) : { status: 'ready' };
    });
    routes.get('/metrics', async (_request, reply) => {
      const { registry } = options.metrics;
      return reply.type(registry.contentType).send(await registry.metrics());
    });
    registerAlertmanagerWebhook(routes, options);
    registerRunsApi(routes, options);
    registerCapaApi(routes, options);
    if (options.slackSigningSecret)
      registerSlackEndpoints(routes, { ...options, signingSecret: options.slackSigningSecret });
    done();
  });
  return app;
}
