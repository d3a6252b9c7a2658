// A local server that speaks the LiteLLM proxy's admin API as LiteLLM's own source defines it (BerriAI/litellm; each
// route names the file and function it follows), for testing the LiteLLM client through its real HTTP code. It keeps
// teams, deployments and fallbacks in memory, records every request, and answers errors in LiteLLM's shapes:
// ProxyException `{"error": {message, type, param, code}}` with a string code, FastAPI's `{"detail": ...}` where
// LiteLLM raises HTTPException unconverted, 422 `{"detail": [...]}` for a body that fails validation.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { LiteLlmDeployment, LiteLlmTeam } from '../../gateway/litellm/litellm-admin-client';

export const LITELLM_MASTER_KEY = 'sk-litellm-master-test-key';

export interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

// Fields UpdateTeamRequest declares (litellm/proxy/_types.py) among those the engine may send; pydantic drops others.
const TEAM_UPDATE_FIELDS = [
  'models',
  'tpm_limit',
  'rpm_limit',
  'max_budget',
  'budget_duration',
  'blocked',
  'metadata',
] as const;
// LiteLLM_ManagementEndpoint_MetadataFields (_types.py): moved into metadata by common_utils.py, _update_metadata_field.
const METADATA_FIELDS = ['model_rpm_limit', 'model_tpm_limit'] as const;

const proxyException = (reply: FastifyReply, status: number, message: string, type: string, param: string | null) =>
  reply.code(status).send({ error: { message, type, param, code: String(status) } });
const httpException = (reply: FastifyReply, status: number, detail: unknown) => reply.code(status).send({ detail });

export class LiteLlmProxyServer {
  readonly requests: RecordedRequest[] = [];
  readonly teams = new Map<string, LiteLlmTeam>();
  /** LiteLLM_ModelTable's `aliases`, by team (schema.prisma: the team row links it by model_id). */
  readonly aliases = new Map<string, Record<string, string>>();
  /** Runs once, after the next GET /team/info answers: someone else's change between the engine's read and write. */
  afterNextTeamRead: (() => void) | undefined;
  /** Faults on the next request a predicate matches: refused before it runs, or run and its answer lost. */
  private faults: Array<{ match: (request: RecordedRequest) => boolean; status: number; lose: boolean }> = [];
  readonly deployments: LiteLlmDeployment[] = [];
  /** router_settings.fallbacks: model group → its fallbacks. */
  readonly fallbacks = new Map<string, string[]>();
  private failures: number[] = [];
  /** The Prometheus exposition GET /metrics serves (test/helpers/litellm-traffic.ts writes LiteLLM's metrics there). */
  metrics: () => string = () => '';

  url = '';

  private constructor(private readonly app: FastifyInstance) {}

  static async start(): Promise<LiteLlmProxyServer> {
    const server = new LiteLlmProxyServer(Fastify());
    server.routes();
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    server.url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
    return server;
  }

  private routes(): void {
    const { app } = this;
    // litellm/proxy/proxy_server.py mounts prometheus_client's ASGI app at /metrics, unauthenticated unless
    // require_auth_for_metrics_endpoint is set; it is no admin request, so it is neither faulted nor recorded.
    app.get('/metrics', (_request, reply) =>
      reply.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8').send(this.metrics()),
    );
    app.addHook('onRequest', (request, reply, done) => {
      if (request.url === '/metrics') return done();
      // user_api_key_auth (litellm/proxy/auth/user_api_key_auth.py): a missing or wrong key is a 401 ProxyException.
      if (request.headers.authorization !== `Bearer ${LITELLM_MASTER_KEY}`) {
        void proxyException(reply, 401, 'Authentication Error, invalid user key', 'auth_error', 'None');
        return;
      }
      const status = this.failures.shift();
      if (status !== undefined) {
        void proxyException(reply, status, 'Internal server error', 'internal_server_error', null);
        return;
      }
      done();
    });
    const faultFor = (recorded: RecordedRequest, lose: boolean) => {
      const index = this.faults.findIndex((fault) => fault.lose === lose && fault.match(recorded));
      return index < 0 ? undefined : this.faults.splice(index, 1)[0];
    };
    app.addHook('preHandler', (request, reply, done) => {
      if (request.url === '/metrics') return done();
      const recorded = {
        method: request.method,
        url: request.url,
        authorization: request.headers.authorization,
        body: request.body ?? null,
      };
      this.requests.push(recorded);
      const refuse = faultFor(recorded, false);
      if (refuse) {
        void proxyException(reply, refuse.status, 'Internal server error', 'internal_server_error', null);
        return;
      }
      done();
    });
    // The change is made, and its answer lost (a proxy that died before answering, a timeout): the caller sees a 5xx.
    app.addHook('onSend', (request, reply, payload, done) => {
      const recorded = [...this.requests]
        .reverse()
        .find(({ method, url }) => method === request.method && url === request.url);
      const lose = recorded && reply.statusCode < 400 ? faultFor(recorded, true) : undefined;
      if (!lose) return done(null, payload);
      reply.code(lose.status);
      done(
        null,
        JSON.stringify({
          error: { message: 'upstream connect error', type: 'None', param: null, code: String(lose.status) },
        }),
      );
    });

    // team_endpoints.py, team_info: {team_id, team_info, keys, team_memberships}; unknown team → 404 ProxyException.
    // The team is loaded without its litellm_model_table, so the aliases are not in the answer.
    app.get<{ Querystring: { team_id?: string } }>('/team/info', (request, reply) => {
      const teamId = request.query.team_id;
      if (!teamId) return proxyException(reply, 422, 'Malformed request. No team id passed in.', 'auth_error', 'None');
      const team = this.teams.get(teamId);
      if (!team) return proxyException(reply, 404, `Team not found, passed team id: ${teamId}.`, 'auth_error', 'None');
      const answer = { team_id: teamId, team_info: { ...structuredClone(team), litellm_model_table: null }, keys: [] };
      const after = this.afterNextTeamRead;
      this.afterNextTeamRead = undefined;
      after?.();
      return { ...answer, team_memberships: [] };
    });

    // team_endpoints.py, update_team: exclude_unset (null clears), unknown fields dropped, HTTPException unconverted.
    // metadata is replaced whole; a metadata field sent beside it goes into the metadata sent, or becomes the whole
    // metadata (_update_metadata_field); model_aliases replaces the team's alias table, null leaving it as it is
    // (_update_model_table); the answer includes the alias table.
    app.post<{ Body: Record<string, unknown> }>('/team/update', (request, reply) => {
      const body = request.body ?? {};
      if (typeof body.team_id !== 'string')
        return httpException(reply, 422, [{ loc: ['body', 'team_id'], msg: 'Field required', type: 'missing' }]);
      const team = this.teams.get(body.team_id);
      if (!team) return httpException(reply, 404, { error: `Team not found, passed team_id=${body.team_id}` });
      const updated: Record<string, unknown> = { ...team };
      for (const field of TEAM_UPDATE_FIELDS) if (field in body) updated[field] = body[field];
      // As _update_metadata_field does: into the metadata being written, or as the whole of it when none is.
      let written = 'metadata' in body && body.metadata !== null ? { ...(body.metadata as object) } : undefined;
      for (const field of METADATA_FIELDS) {
        if (!(field in body)) continue;
        written = { ...written, [field]: body[field] };
        updated.metadata = written;
      }
      if (body.model_aliases !== null && typeof body.model_aliases === 'object')
        this.aliases.set(body.team_id, structuredClone(body.model_aliases as Record<string, string>));
      this.teams.set(body.team_id, updated as unknown as LiteLlmTeam);
      const aliases = this.aliases.get(body.team_id);
      return {
        team_id: body.team_id,
        data: { ...structuredClone(updated), litellm_model_table: aliases ? { model_aliases: aliases } : null },
      };
    });

    // proxy_this.py, model_info_v1: one entry per deployment.
    app.get('/model/info', () => ({ data: this.deployments }));

    // model_management_endpoints.py, patch_model: DB models only; merges litellm_params and model_info.
    app.patch<{ Params: { id: string }; Body: Record<string, Record<string, unknown> | undefined> }>(
      '/model/:id/update',
      (request, reply) => {
        const deployment = this.deployments.find(({ model_info }) => model_info.id === request.params.id);
        if (!deployment)
          return proxyException(
            reply,
            404,
            `Model ${request.params.id} not found on proxy.`,
            'not_found_error',
            'model_id',
          );
        if (deployment.model_info.db_model !== true)
          return proxyException(
            reply,
            400,
            'Cannot edit config-based model. Store model in DB via /model/new first.',
            'validation_error',
            'model_id',
          );
        const { litellm_params: params, model_info: info } = request.body ?? {};
        Object.assign(deployment.litellm_params, params ?? {});
        Object.assign(deployment.model_info, info ?? {});
        return { model_id: deployment.model_info.id, ...deployment };
      },
    );

    // fallback_management_endpoints.py: create_fallback, get_fallback, delete_fallback (HTTPException unconverted).
    const knownModel = (model: string) => this.deployments.some(({ model_name }) => model_name === model);
    const notConfigured = (model: string) => ({ error: `No general fallbacks configured for model '${model}'` });
    app.post<{ Body: { model?: string; fallback_models?: string[] } }>('/fallback', (request, reply) => {
      const { model, fallback_models: fallbacks = [] } = request.body ?? {};
      if (!model || !knownModel(model))
        return httpException(reply, 404, { error: `Model '${model}' not found in router`, available_models: [] });
      const updated = this.fallbacks.has(model);
      this.fallbacks.set(model, fallbacks);
      return {
        model,
        fallback_models: fallbacks,
        fallback_type: 'general',
        message: `Fallback configuration ${updated ? 'updated' : 'created'} successfully`,
      };
    });
    app.get<{ Params: { model: string } }>('/fallback/:model', (request, reply) => {
      const fallbacks = this.fallbacks.get(request.params.model);
      if (!fallbacks?.length) return httpException(reply, 404, notConfigured(request.params.model));
      return { model: request.params.model, fallback_models: fallbacks, fallback_type: 'general' };
    });
    app.delete<{ Params: { model: string } }>('/fallback/:model', (request, reply) => {
      if (!this.fallbacks.delete(request.params.model))
        return httpException(reply, 404, notConfigured(request.params.model));
      return {
        model: request.params.model,
        fallback_type: 'general',
        message: 'Fallback configuration deleted successfully',
      };
    });
  }

  /** The next request `match` accepts answers `status` without running (lose: false), or runs and answers it (lose: true). */
  faultOn(match: (request: RecordedRequest) => boolean, status: number, { lose }: { lose: boolean }): void {
    this.faults.push({ match, status, lose });
  }

  /** The next requests answer these statuses (as an unhandled error does), before any route runs. */
  failNext(...statuses: number[]): void {
    this.failures.push(...statuses);
  }

  close(): Promise<void> {
    return this.app.close();
  }
}
