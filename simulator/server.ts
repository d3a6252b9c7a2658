// The bundled gateway simulator's HTTP server: the Gateway Control API (gateway/openapi.yaml)
// over a PolicyStore, so the whole loop runs on one machine.
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { z } from 'zod';
import { isAuthorized } from '../ingress/credentials';
import {
  regionWeightsUpdateSchema,
  routePolicyPatchSchema,
  tenantQuotaPatchSchema,
  type PolicyScope,
} from '../gateway/control-api';
import type { Logger } from '../observability/logger';
import { formatIssues } from '../validation/issues';
import { ServerFaults, sleep } from './faults';
import { PolicyStore, PolicyStoreError, type WriteOptions, type Written } from './policy-store';

export interface SimulatorOptions {
  token: string;
  logger: Logger;
  store?: PolicyStore;
  /** Faults on a rate and held answers, for the fault tests (default: none). */
  faults?: ServerFaults;
}

interface PolicyParams {
  route: string;
  tenant?: string;
}

const sendError = (reply: FastifyReply, status: number, code: string, message: string) =>
  reply.code(status).send({ error: { code, message } });

function scopeOf(params: PolicyParams): PolicyScope {
  return params.tenant === undefined ? { route: params.route } : { route: params.route, tenant: params.tenant };
}

/** `"7"` → 7; anything else (absent, `*`, weak tags) disables the check. */
function revisionOf(ifMatch: string | undefined): number | undefined {
  const match = ifMatch && /^"(\d+)"$/.exec(ifMatch.trim());
  return match ? Number(match[1]) : undefined;
}

function writeOptionsOf(request: FastifyRequest): WriteOptions {
  const idempotencyKey = request.headers['idempotency-key'];
  return {
    idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
    ifMatch: revisionOf(request.headers['if-match']),
  };
}

/** The request body checked against `schema`; otherwise a 422 `code` naming each bad field. */
function bodyOf<Schema extends z.ZodType>(request: FastifyRequest, schema: Schema, code: string): z.output<Schema> {
  const parsed = schema.safeParse(request.body);
  if (!parsed.success) throw new PolicyStoreError(422, code, formatIssues(parsed.error, schema).join('; '));
  return parsed.data;
}

const sendDocument = (reply: FastifyReply, document: { revision: number }) =>
  reply.header('ETag', `"${document.revision}"`).send(document);

function sendWritten(
  request: FastifyRequest,
  reply: FastifyReply,
  { change, replayed }: Written<{ revision: number }>,
  what: string,
) {
  if (!replayed)
    request.log.info({ url: request.url, body: request.body, revision: change.revision }, `${what} changed`);
  return sendDocument(reply.header('Idempotent-Replayed', String(replayed)), change);
}

export function buildSimulatorApp({
  token,
  logger,
  store = new PolicyStore(),
  faults = new ServerFaults(),
}: SimulatorOptions): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = logger;
  // The simulator's own traffic and Prometheus's scrapes: a log line per request would drown the engine's.
  const app = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }) });
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      (error as { statusCode?: number }).statusCode = 400;
      done(error as Error, undefined);
    }
  });

  app.get('/healthz', () => ({ status: 'ok' }));

  app.register((api, _options, done) => {
    api.addHook('onRequest', async (request, reply) => {
      if (!isAuthorized(request.headers.authorization, { token })) {
        return sendError(
          reply.header('WWW-Authenticate', 'Bearer'),
          401,
          'unauthorized',
          'missing or wrong bearer token',
        );
      }
      // An injected fault refuses the request before it reaches the store: nothing is applied.
      const fault = faults.rate?.draw(request.method, request.url);
      if (fault?.kind === 'slow') await sleep(fault.delayMs);
      else if (fault?.kind === 'timeout') {
        await sleep(fault.delayMs);
        return sendError(reply, fault.status, 'injected_timeout', `injected fault: no answer in time`);
      } else if (fault?.kind === 'throttle')
        return sendError(
          reply.header('Retry-After', String(fault.retryAfterSeconds)),
          429,
          'rate_limited',
          `injected fault: too many requests; retry after ${fault.retryAfterSeconds} s`,
        );
      else if (fault) return sendError(reply, fault.status, 'injected_error', `injected fault: ${fault.status}`);
    });
    // A permanent refusal, once the body is parsed (it may single out one change among several to a path).
    api.addHook('preHandler', async (request, reply) => {
      const refusal = faults.refusal(request.method, request.url, request.body);
      if (refusal) return sendError(reply, refusal.status, 'refused', refusal.message);
    });
    // Applied, and held: the caller learns of it only once the test releases the hold.
    api.addHook('onSend', async (request, reply) => {
      if (reply.statusCode < 300) await faults.hold.after(request.method, request.url);
    });
    api.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      if (error instanceof PolicyStoreError) return sendError(reply, error.status, error.code, error.message);
      const status = error.statusCode ?? 500;
      return sendError(reply, status, status < 500 ? 'bad_request' : 'internal', error.message);
    });

    for (const path of ['/v1/routes/:route/policy', '/v1/routes/:route/tenants/:tenant/policy']) {
      api.get<{ Params: PolicyParams }>(path, (request, reply) =>
        sendDocument(reply, store.get(scopeOf(request.params))),
      );
      api.patch<{ Params: PolicyParams }>(path, (request, reply) => {
        const patch = bodyOf(request, routePolicyPatchSchema, 'invalid_patch');
        return sendWritten(
          request,
          reply,
          store.patch(scopeOf(request.params), patch, writeOptionsOf(request)),
          'policy',
        );
      });
    }

    api.get<{ Params: { tenant: string } }>('/v1/tenants/:tenant/quota', (request, reply) =>
      sendDocument(reply, store.getQuota(request.params.tenant)),
    );
    api.patch<{ Params: { tenant: string } }>('/v1/tenants/:tenant/quota', (request, reply) => {
      const patch = bodyOf(request, tenantQuotaPatchSchema, 'invalid_patch');
      return sendWritten(
        request,
        reply,
        store.patchQuota(request.params.tenant, patch, writeOptionsOf(request)),
        'quota',
      );
    });

    api.get<{ Params: { route: string } }>('/v1/routes/:route/regions', (request, reply) =>
      sendDocument(reply, store.getRegionWeights(request.params.route)),
    );
    api.put<{ Params: { route: string } }>('/v1/routes/:route/regions', (request, reply) => {
      const update = bodyOf(request, regionWeightsUpdateSchema, 'invalid_weights');
      return sendWritten(
        request,
        reply,
        store.putRegionWeights(request.params.route, update, writeOptionsOf(request)),
        'region weights',
      );
    });

    api.get('/v1/routes', () => ({ routes: store.routes() }));
    api.get('/v1/tenants', () => ({ tenants: store.tenants() }));
    api.get('/v1/changes', () => ({ changes: store.changes }));
    done();
  });
  return app;
}
