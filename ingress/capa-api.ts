// The CAPA API for people and the CLI, authenticated by the ingress like every route; filling and closing also need
// the operator's own token (X-Operator-Token), which says who acts.
//   GET  /v1/capas?state=open|closed|all&owner=U…&overdue=true   the CAPAs, from visibility (default: open ones)
//   GET  /v1/capas/:capaId                                        one CAPA, whole (its status query)
//   POST /v1/capas/:capaId/fill   {rootCause?, correctiveAction?, preventiveAction?, owner?, dueDate?, by?}
//   POST /v1/capas/:capaId/close  {note?, by?}                    once every field is filled, by a closer
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { closeCapa, fillCapa, type CapaActionResult, type CapaContext } from '../capa/capa-actions';
import { listCapas } from '../capa/capa-query';
import { MAX_ID_CHARS, MAX_REASON_CHARS } from '../alerts/manual';
import { capaStatusQuery, dueDateProblem } from '../workflows/capa/definitions';
import { workflowIdProblem } from './run-dispatch';
import { invalid, operatorOf, temporalFailure, type RunsApiOptions } from './runs-api';

export interface CapaApiOptions extends RunsApiOptions {
  /** finops.capa.closers; absent, the playbook's approvers close. */
  capaClosers?: readonly string[] | undefined;
}

const text = (what: string) => z.string().trim().min(1).max(4_000).describe(what);

const fillSchema = z
  .object({
    rootCause: text('why the anomaly happened').optional(),
    correctiveAction: text('what fixes this occurrence').optional(),
    preventiveAction: text('what keeps it from happening again').optional(),
    owner: z
      .string()
      .regex(/^[A-Za-z0-9._@-]{1,128}$/, 'a user id, e.g. U0ALICE')
      .optional()
      .describe('who sees it through (a user id)'),
    dueDate: z
      .string()
      .refine((day) => dueDateProblem(day) === null, { message: 'a day as YYYY-MM-DD, e.g. 2026-12-21' })
      .optional()
      .describe('by when (a day, UTC)'),
    by: z.string().min(1).max(MAX_ID_CHARS).optional().describe('who fills it (default: the operator of the token)'),
  })
  .strict()
  .refine(({ by: _by, ...fields }) => Object.values(fields).some((value) => value !== undefined), {
    message: 'send at least one of rootCause, correctiveAction, preventiveAction, owner, dueDate',
  });

const closeSchema = z
  .object({
    note: z.string().min(1).max(MAX_REASON_CHARS).optional().describe('a closing note, in a sentence'),
    by: z.string().min(1).max(MAX_ID_CHARS).optional().describe('who closes it (default: the operator of the token)'),
  })
  .strict();

const listSchema = z
  .object({
    state: z.enum(['open', 'closed', 'all']).default('open'),
    owner: z.string().min(1).max(MAX_ID_CHARS).optional(),
    overdue: z.enum(['true', 'false']).optional(),
  })
  .strict();

interface CapaParams {
  capaId: string;
}

/** A 400 for an id no CAPA can have, else undefined. */
function impossibleCapa(reply: FastifyReply, capaId: string) {
  const problem = capaId.startsWith('capa/') ? workflowIdProblem(capaId) : 'a CAPA id starts with capa/';
  return problem ? reply.code(400).send({ error: `no CAPA can have this id: ${problem}` }) : undefined;
}

export function registerCapaApi(app: FastifyInstance, options: CapaApiOptions): void {
  const { client } = options;
  const context: CapaContext = {
    client,
    approvers: options.approvers,
    closers: options.capaClosers,
    directory: options.directory,
  };
  const withDeadline = <T>(call: () => Promise<T>) => client.withDeadline(Date.now() + options.temporalTimeoutMs, call);

  app.get('/v1/capas', async (request, reply) => {
    const parsed = listSchema.safeParse(request.query);
    if (!parsed.success) return invalid(reply, 'CAPA list query', parsed.error, listSchema);
    const { state, owner, overdue } = parsed.data;
    try {
      const capas = await withDeadline(() =>
        listCapas(client, { state, ...(owner && { owner }), overdue: overdue === 'true' }),
      );
      return reply.send({ capas });
    } catch (error) {
      return temporalFailure(reply, 'the CAPA list', error);
    }
  });

  app.get<{ Params: CapaParams }>('/v1/capas/:capaId', async (request, reply) => {
    const { capaId } = request.params;
    const impossible = impossibleCapa(reply, capaId);
    if (impossible) return impossible;
    try {
      return reply.send(await withDeadline(() => client.workflow.getHandle(capaId).query(capaStatusQuery)));
    } catch (error) {
      return temporalFailure(reply, capaId, error);
    }
  });

  /** The operator acting, or the 401/403 that says why not. */
  function actor(request: { headers: Record<string, unknown> }, reply: FastifyReply, by: string | undefined) {
    const operator = operatorOf(request.headers['x-operator-token'] as string | undefined, options.operatorTokens);
    if (!operator) {
      void reply.code(401).send({
        error:
          'filling or closing a CAPA needs your own operator token in X-Operator-Token (approvals.operatorTokens): the ingress token does not say who you are',
      });
      return undefined;
    }
    if (by !== undefined && by !== operator) {
      void reply.code(403).send({ error: `this operator token is ${operator}'s, not ${by}'s` });
      return undefined;
    }
    return operator;
  }

  const answer = (reply: FastifyReply, capaId: string, result: CapaActionResult) =>
    result.outcome === 'done'
      ? reply.code(200).send(result.status)
      : reply.code(result.unauthorised ? 403 : 409).send({ error: result.refusal, capaId });

  app.post<{ Params: CapaParams }>('/v1/capas/:capaId/fill', async (request, reply) => {
    const { capaId } = request.params;
    const impossible = impossibleCapa(reply, capaId);
    if (impossible) return impossible;
    const parsed = fillSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, 'CAPA fill', parsed.error, fillSchema);
    const { by, ...fields } = parsed.data;
    const operator = actor(request, reply, by);
    if (!operator) return reply;
    const key = request.headers['idempotency-key'];
    try {
      const result = await withDeadline(() =>
        fillCapa(
          context,
          capaId,
          { by: operator, fields, via: 'api' },
          typeof key === 'string' ? `api/${key}` : undefined,
        ),
      );
      if (result.outcome === 'refused')
        request.log.warn({ capaId, by: operator, refusal: result.refusal }, 'CAPA fill refused');
      return answer(reply, capaId, result);
    } catch (error) {
      return temporalFailure(reply, capaId, error);
    }
  });

  app.post<{ Params: CapaParams }>('/v1/capas/:capaId/close', async (request, reply) => {
    const { capaId } = request.params;
    const impossible = impossibleCapa(reply, capaId);
    if (impossible) return impossible;
    const parsed = closeSchema.safeParse(request.body ?? {});
    if (!parsed.success) return invalid(reply, 'CAPA close', parsed.error, closeSchema);
    const operator = actor(request, reply, parsed.data.by);
    if (!operator) return reply;
    const key = request.headers['idempotency-key'];
    try {
      const result = await withDeadline(() =>
        closeCapa(
          context,
          capaId,
          { by: operator, note: parsed.data.note, via: 'api' },
          typeof key === 'string' ? `api/${key}` : undefined,
        ),
      );
      if (result.outcome === 'refused')
        request.log.warn({ capaId, by: operator, refusal: result.refusal }, 'CAPA close refused');
      else request.log.info({ capaId, by: operator }, 'CAPA closed');
      return answer(reply, capaId, result);
    } catch (error) {
      return temporalFailure(reply, capaId, error);
    }
  });
}
