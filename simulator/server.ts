// The bundled gateway simulator's HTTP server: the Gateway Control API (gateway/openapi.yaml)
// over a PolicyStore, so the whole loop runs on one machine.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isAuthorized } from '../auth/credentials';
import { routePolicyPatchSchema, type PolicyScope } from '../gateway/control-api';
import type { Logger } from '../logging/logger';
import { formatIssues } from '../validation/issues';
import { PolicyStore, PolicyStoreError } from './policy-store';

export interface SimulatorOptions {
  token: string;
  logger: Logger;
  store?: PolicyStore;
}

interface PolicyParams {
  route: string;
  tenant?: string;
}

const sendError = (reply: FastifyReply, status: number, code: string, message: string) => reply.code(status).send({ error: { code, message } });

function scopeOf(params: PolicyParams): PolicyScope {
  return params.tenant === undefined ? { route: params.route } : { route: params.route, tenant: params.tenant };
}

/** `"7"` → 7; anything else (absent, `*`, weak tags) disables the check. */
function revisionOf(ifMatch: string | undefined): number | undefined {
  const match = ifMatch && /^"(\d+)"$/.exec(ifMatch.trim());
  return match ? Number(match[1]) : undefined;
}

export function buildSimulatorApp({ token, logger, store = new PolicyStore() }: SimulatorOptions): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({ loggerInstance });
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
        await sendError(reply.header('WWW-Authenticate', 'Bearer'), 401, 'unauthorized', 'missing or wrong bearer token');
      }
    });
    api.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      if (error instanceof PolicyStoreError) return sendError(reply, error.status, error.code, error.message);
      const status = error.statusCode ?? 500;
      return sendError(reply, status, status < 500 ? 'bad_request' : 'internal', error.message);
    });

    const getPolicy = (request: FastifyRequest<{ Params: PolicyParams }>, reply: FastifyReply) => {
      const document = store.get(scopeOf(request.params));
      return reply.header('ETag', `"${document.revision}"`).send(document);
    };
    const patchPolicy = (request: FastifyRequest<{ Params: PolicyParams }>, reply: FastifyReply) => {
      const patch = routePolicyPatchSchema.safeParse(request.body);
      if (!patch.success) return sendError(reply, 422, 'invalid_patch', formatIssues(patch.error, routePolicyPatchSchema).join('; '));
      const idempotencyKey = request.headers['idempotency-key'];
      const { change, replayed } = store.patch(scopeOf(request.params), patch.data, {
        idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
        ifMatch: revisionOf(request.headers['if-match']),
      });
      if (!replayed) request.log.info({ route: change.route, tenant: change.tenant, patch: patch.data, revision: change.revision }, 'policy changed');
      return reply.header('ETag', `"${change.revision}"`).header('Idempotent-Replayed', String(replayed)).send(change);
    };

    for (const path of ['/v1/routes/:route/policy', '/v1/routes/:route/tenants/:tenant/policy']) {
      api.get(path, getPolicy);
      api.patch(path, patchPolicy);
    }
    api.get('/v1/routes', () => ({ routes: store.routes() }));
    api.get('/v1/changes', () => ({ changes: store.changes }));
    done();
  });
  return app;
}
