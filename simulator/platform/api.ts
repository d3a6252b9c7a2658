// The simulated inference platform over HTTP: Prometheus metrics, an OpenAI-style chat completions
// endpoint that goes through the same gateway policy as the background load, incident injection
// and the cost ground truth. Requests are served at the model's current time; the process advances
// the model with its own timer.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { isAuthorized } from '../../ingress/credentials';
import { formatIssues, formatPath } from '../../validation/issues';
import { incidentSpecSchema, IncidentTargetError, type Incident } from './incidents';
import { createPlatformMetrics } from './metrics';
import type { PlatformModel, RejectedRequest, RejectionReason } from './model';

export interface PlatformApiOptions {
  model: PlatformModel;
  /** The bearer token every endpoint but /metrics requires. */
  token: string;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const textPart = z.object({ type: z.literal('text'), text: z.string() }).loose();
const chatBodySchema = z
  .object({
    model: z.string().min(1).describe('the model asked for; the route policy decides which model serves it'),
    messages: z
      .array(
        z
          .object({
            role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
            content: z.union([z.string(), z.array(textPart)]),
          })
          .loose(),
      )
      .min(1)
      .describe('the conversation, at least one message'),
    max_tokens: z.number().int().positive().optional().describe('the most completion tokens to generate'),
    user: z
      .string()
      .regex(NAME, 'must be a lowercase tenant name')
      .optional()
      .describe('the tenant, when the X-Tenant header is absent'),
    stream: z.literal(false).optional().describe('streaming is not simulated: leave it out or set false'),
  })
  .loose();
type ChatBody = z.output<typeof chatBodySchema>;

/** OpenAI's error envelope, used by every endpoint here so one client parses them all. */
const sendError = (
  reply: FastifyReply,
  status: number,
  error: { message: string; type: string; code: string; param?: string | null },
) =>
  reply
    .code(status)
    .send({ error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code } });

/** About four characters per token plus the chat format's per-message overhead, as OpenAI's own estimates count it. */
function promptTokens(messages: ChatBody['messages']): number {
  const text = (content: ChatBody['messages'][number]['content']) =>
    typeof content === 'string' ? content : content.map((part) => part.text).join('');
  return 3 + messages.reduce((sum, message) => sum + 3 + Math.ceil(text(message.content).length / 4), 0);
}

function rejection(outcome: RejectedRequest): { message: string; type: string; code: string } {
  const { tenant, route, retryAfterSeconds } = outcome;
  const messages: Record<RejectionReason, { message: string; type: string; code: string }> = {
    rate_limited: {
      type: 'requests',
      code: 'rate_limit_exceeded',
      message: `tenant ${tenant} exceeded route ${route}'s rate limit (policy rateLimitRps); retry after ${retryAfterSeconds} s`,
    },
    quota_requests: {
      type: 'requests',
      code: 'rate_limit_exceeded',
      message: `tenant ${tenant} exceeded its requests-per-second quota; retry after ${retryAfterSeconds} s`,
    },
    quota_tokens: {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      message: `tenant ${tenant} used up its daily token quota (tokensPerDay); it resets at 00:00 UTC, in ${retryAfterSeconds} s`,
    },
    quota_cost: {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      message: `tenant ${tenant} used up its daily cost quota (costPerDayUsd); it resets at 00:00 UTC, in ${retryAfterSeconds} s`,
    },
    circuit_open: {
      type: 'server_error',
      code: 'circuit_open',
      message: `the circuit breaker on route ${route} is open and fails closed; requests are refused until it closes`,
    },
    model_unavailable: {
      type: 'server_error',
      code: 'model_unavailable',
      message: `route ${route} has no model to serve ${tenant}: the policy's modelTier is not a known tier and no usable fallbackModel is set`,
    },
  };
  return messages[outcome.reason];
}

const incidentView = (incident: Incident & { active?: boolean }) => ({
  id: incident.id,
  kind: incident.kind,
  tenant: incident.tenant,
  route: incident.route,
  deployment: incident.deployment,
  magnitude: incident.magnitude,
  startsAt: new Date(incident.startsAtMs).toISOString(),
  endsAt: incident.endsAtMs === null ? null : new Date(incident.endsAtMs).toISOString(),
  ...(incident.active === undefined ? {} : { active: incident.active }),
});

export function registerPlatformApi(app: FastifyInstance, { model, token }: PlatformApiOptions): void {
  const registry = createPlatformMetrics(model);
  let completions = 0;

  // Unauthenticated, as Prometheus scrapes it.
  // Scraped every few seconds: logging each scrape would drown the stack's own log.
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) =>
    reply.header('Content-Type', registry.contentType).send(await registry.metrics()),
  );

  void app.register((api, _options, done) => {
    api.addHook('onRequest', async (request, reply) => {
      if (!isAuthorized(request.headers.authorization, { token })) {
        await sendError(reply.header('WWW-Authenticate', 'Bearer'), 401, {
          type: 'invalid_request_error',
          code: 'invalid_api_key',
          message: 'missing or wrong bearer token',
        });
      }
    });
    api.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status = error.statusCode ?? 500;
      return sendError(reply, status, {
        type: status < 500 ? 'invalid_request_error' : 'server_error',
        code: status < 500 ? 'bad_request' : 'internal',
        message: error.message,
      });
    });

    api.post('/v1/chat/completions', (request, reply) => {
      const body = chatBodySchema.safeParse(request.body);
      if (!body.success) {
        const first = body.error.issues[0];
        return sendError(reply, 400, {
          type: 'invalid_request_error',
          code: 'invalid_body',
          param: first ? formatPath(first.path) : null,
          message: formatIssues(body.error, chatBodySchema).join('; '),
        });
      }
      const tenantHeader = request.headers['x-tenant'];
      const tenant = typeof tenantHeader === 'string' ? tenantHeader : body.data.user;
      if (tenant === undefined || !NAME.test(tenant)) {
        return sendError(reply, 400, {
          type: 'invalid_request_error',
          code: 'tenant_required',
          param: 'user',
          message: "name the tenant in the X-Tenant header or the body's user field (a lowercase name)",
        });
      }
      const routeHeader = request.headers['x-route'];
      const route = typeof routeHeader === 'string' ? routeHeader : 'chat';
      if (!model.catalog.routes[route]) {
        return sendError(reply, 404, {
          type: 'invalid_request_error',
          code: 'route_not_found',
          message: `route ${route} (X-Route) does not exist; known routes: ${Object.keys(model.catalog.routes).join(', ')}`,
        });
      }

      const maxTokens = body.data.max_tokens;
      const outcome = model.chat({
        tenant,
        route,
        inputTokens: promptTokens(body.data.messages),
        maxTokens,
        contentKey: JSON.stringify([tenant, route, body.data.messages]),
      });
      if (!outcome.served)
        return sendError(
          reply.header('Retry-After', String(outcome.retryAfterSeconds)),
          outcome.status,
          rejection(outcome),
        );

      completions += 1;
      return reply
        .header('X-Cache', outcome.cacheHit ? 'hit' : 'miss')
        .header('X-Region', outcome.region)
        .send({
          id: `chatcmpl-sim-${completions}`,
          object: 'chat.completion',
          created: Math.floor(model.nowMs / 1000),
          model: outcome.model.name,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: `Simulated ${outcome.model.name} answer for ${tenant} on ${route}: ${outcome.outputTokens} tokens.`,
              },
              logprobs: null,
              finish_reason: maxTokens !== undefined && outcome.outputTokens === maxTokens ? 'length' : 'stop',
            },
          ],
          usage: {
            prompt_tokens: outcome.inputTokens,
            completion_tokens: outcome.outputTokens,
            total_tokens: outcome.inputTokens + outcome.outputTokens,
          },
        });
    });

    api.post('/v1/incidents', (request, reply) => {
      const parsed = incidentSpecSchema.safeParse(request.body);
      if (!parsed.success) {
        // Describe fields from the kind's own schema when the kind is known: its hints name valid magnitudes.
        const kind = (request.body as { kind?: unknown } | null)?.kind;
        const option = incidentSpecSchema.options.find((o) => o.shape.kind.value === kind);
        const first = parsed.error.issues[0];
        return sendError(reply, 422, {
          type: 'invalid_request_error',
          code: 'invalid_incident',
          param: first ? formatPath(first.path) : null,
          message: formatIssues(parsed.error, option ?? incidentSpecSchema).join('; '),
        });
      }
      try {
        return reply.code(201).send({ incident: incidentView(model.injectIncident(parsed.data)) });
      } catch (error) {
        if (!(error instanceof IncidentTargetError)) throw error;
        return sendError(reply, 422, {
          type: 'invalid_request_error',
          code: 'invalid_incident',
          param: error.field,
          message: `${error.field}: ${error.message}`,
        });
      }
    });

    api.get('/v1/incidents', () => ({ incidents: model.incidents().map(incidentView) }));

    api.delete<{ Params: { id: string } }>('/v1/incidents/:id', (request, reply) => {
      const cleared = model.clearIncident(request.params.id);
      if (!cleared)
        return sendError(reply, 404, {
          type: 'invalid_request_error',
          code: 'incident_not_found',
          message: `incident ${request.params.id} does not exist; GET /v1/incidents lists them`,
        });
      return reply.send({ incident: incidentView(cleared) });
    });

    api.get('/v1/ground-truth', () => {
      const { atMs, ...truth } = model.groundTruth();
      return { at: new Date(atMs).toISOString(), ...truth };
    });
    done();
  });
}
