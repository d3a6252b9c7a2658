// The runs API for operators (and the CLI): start a playbook by hand, read a run's live status,
// resolve a manual run, abort any run. Authenticated by the ingress like every route.
//   POST /v1/runs                     {playbook, labels, annotations?, startedBy, reason}
//   GET  /v1/runs/:workflowId         the run's status query
//   POST /v1/runs/:workflowId/resolve {by, reason}  a manual run's "alert" resolves: rollback after the cooldown
//   POST /v1/runs/:workflowId/abort   {by, reason}  roll back now
//   POST /v1/runs/:workflowId/decide  {stepId, approve, by, reason?}  approve or reject, as an authorised approver
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { safeEqual } from './credentials';
import {
  isManualFingerprint,
  manualAlert,
  manualStartSchema,
  MAX_ID_CHARS,
  MAX_REASON_CHARS,
  type ManualStart,
} from '../alerts/manual';
import { routeToPlaybook, type RunDefaults } from '../alerts/routing';
import type { Playbook } from '../playbook/playbook-schema';
import { formatIssues } from '../validation/issues';
import { abortUpdate, statusQuery } from '../workflows/playbook-run/definitions';
import { decide, type DecisionContext } from '../approvals/decisions';
import { isRetryable, runStartProblem, signalResolution, startOrSignalRun, workflowIdProblem } from './run-dispatch';

export interface RunsApiOptions extends Omit<DecisionContext, 'client'> {
  /** Operator id → token: a decision over the API is the operator's whose token it carries. */
  operatorTokens: Record<string, string>;
  client: Client;
  taskQueue: string;
  playbooks: readonly Playbook[];
  runDefaults: RunDefaults;
  temporalTimeoutMs: number;
}

const decisionSchema = z
  .object({
    stepId: z
      .string()
      .min(1)
      .max(MAX_ID_CHARS)
      .describe('the approval step, e.g. approve-distilled (escalated: cost-s1/approve-throttle)'),
    approve: z.boolean().describe('true to approve, false to reject'),
    by: z
      .string()
      .min(1)
      .max(MAX_ID_CHARS)
      .optional()
      .describe('who decides; must be the operator whose X-Operator-Token is sent (default: that operator)'),
    reason: z.string().min(1).max(MAX_REASON_CHARS).optional().describe('why, in a sentence'),
  })
  .strict();

const operatorActSchema = z
  .object({
    by: z.string().min(1).max(MAX_ID_CHARS).describe('who acts (a user id); recorded in the run'),
    reason: z.string().min(1).max(MAX_REASON_CHARS).describe('why, in a sentence'),
  })
  .strict();

interface RunParams {
  workflowId: string;
}

export function invalid(reply: FastifyReply, what: string, error: z.ZodError, schema: z.ZodType) {
  return reply.code(422).send({ error: `invalid ${what}`, problems: formatIssues(error, schema) });
}

/** A 400 for an id no run can have (Temporal would refuse it, on every retry), else undefined. */
function impossibleRun(reply: FastifyReply, workflowId: string) {
  const problem = workflowIdProblem(workflowId);
  return problem ? reply.code(400).send({ error: `no run can have this id: ${problem}` }) : undefined;
}

const illFormed = (texts: Record<string, string>) =>
  Object.entries(texts).find(([name, value]) => /\p{Cs}/u.test(name) || /\p{Cs}/u.test(value))?.[0];

/** The operator a token belongs to, compared in constant time against every configured token. */
export function operatorOf(
  header: string | string[] | undefined,
  operatorTokens: Record<string, string>,
): string | undefined {
  if (typeof header !== 'string') return undefined;
  return Object.entries(operatorTokens).find(([, token]) => safeEqual(header, token))?.[0];
}

/**
 * Temporal's answer as HTTP: 404 for no such run, 409 when the run refused, 503 when trying again can help, else 500.
 * `run` names it for people.
 */
export function temporalFailure(reply: FastifyReply, run: string, error: unknown) {
  if (error instanceof WorkflowNotFoundError) return reply.code(404).send({ error: `no open run ${run}` });
  if (error instanceof WorkflowUpdateFailedError)
    return reply.code(409).send({ error: `run ${run} refused: ${error.cause?.message ?? error.message}` });
  reply.log.error({ err: error, run }, 'Temporal call failed');
  return isRetryable(error)
    ? reply
        .code(503)
        .header('Retry-After', '5')
        .send({ error: `Temporal is unavailable: ${(error as Error).message}; retry later` })
    : reply.code(500).send({ error: `Temporal refused the call: ${(error as Error).message}` });
}

export type ManualStartResult =
  | { outcome: 'started'; workflowId: string; target: string; dryRun: boolean }
  | { outcome: 'unknown-playbook' | 'cannot-run'; error: string };

/** Plans a run started by hand and starts it (or joins the one open for its target). Temporal errors are thrown. */
export async function startManualRun(
  { client, taskQueue, playbooks, runDefaults, temporalTimeoutMs }: RunsApiOptions,
  start: ManualStart,
): Promise<ManualStartResult> {
  const label = illFormed(start.labels) ?? illFormed(start.annotations);
  if (label !== undefined)
    return {
      outcome: 'cannot-run',
      error: `label or annotation ${JSON.stringify(label)} contains a lone UTF-16 surrogate, which is not Unicode text`,
    };
  const playbook = playbooks.find(({ spec }) => spec.name === start.playbook);
  if (!playbook)
    return {
      outcome: 'unknown-playbook',
      error: `no playbook named ${start.playbook}; known: ${playbooks.map(({ spec }) => spec.name).join(', ')}`,
    };
  const decision = routeToPlaybook(
    manualAlert(start, playbook.spec.severity, new Date()),
    playbook,
    playbooks,
    // A run started by hand ends when its starter says so: Alertmanager has never heard of it.
    { ...runDefaults, staleAfterMs: undefined },
  );
  if (decision.outcome !== 'routed')
    return {
      outcome: 'cannot-run',
      error: `playbook ${start.playbook} cannot run: ${decision.outcome === 'rejected' ? decision.reason : 'unrouted'}`,
    };
  const { workflowId, plan, alert } = decision;
  const problem = runStartProblem(workflowId, plan, alert);
  if (problem) return { outcome: 'cannot-run', error: `playbook ${start.playbook} cannot run: ${problem}` };
  await client.withDeadline(Date.now() + temporalTimeoutMs, () =>
    startOrSignalRun(client, taskQueue, workflowId, plan, alert),
  );
  return { outcome: 'started', workflowId, target: plan.target.key, dryRun: plan.playbook.dryRun };
}

export function registerRunsApi(app: FastifyInstance, options: RunsApiOptions): void {
  const { client } = options;
  const withDeadline = <T>(call: () => Promise<T>) => client.withDeadline(Date.now() + options.temporalTimeoutMs, call);

  app.post('/v1/runs', async (request, reply) => {
    const parsed = manualStartSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, 'manual start', parsed.error, manualStartSchema);
    const start = parsed.data;
    let result;
    try {
      result = await startManualRun(options, start);
    } catch (error) {
      return temporalFailure(reply, `a run of ${start.playbook}`, error);
    }
    if (result.outcome !== 'started')
      return reply.code(result.outcome === 'unknown-playbook' ? 404 : 422).send({ error: result.error });
    const { workflowId, target, dryRun } = result;
    request.log.info(
      { workflowId, playbook: start.playbook, startedBy: start.startedBy, reason: start.reason },
      'manual run started',
    );
    return reply.code(202).send({ workflowId, playbook: start.playbook, target, dryRun });
  });

  app.get<{ Params: RunParams }>('/v1/runs/:workflowId', async (request, reply) => {
    const { workflowId } = request.params;
    const impossible = impossibleRun(reply, workflowId);
    if (impossible) return impossible;
    try {
      return reply.send(await withDeadline(() => client.workflow.getHandle(workflowId).query(statusQuery)));
    } catch (error) {
      return temporalFailure(reply, workflowId, error);
    }
  });

  app.post<{ Params: RunParams }>('/v1/runs/:workflowId/resolve', async (request, reply) => {
    const { workflowId } = request.params;
    const impossible = impossibleRun(reply, workflowId);
    if (impossible) return impossible;
    const parsed = operatorActSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, 'resolution', parsed.error, operatorActSchema);
    try {
      const handle = client.workflow.getHandle(workflowId);
      const { alerts } = await withDeadline(() => handle.query(statusQuery));
      const manual = Object.entries(alerts).filter(
        ([fingerprint, alert]) => isManualFingerprint(fingerprint) && alert.status === 'firing',
      );
      if (manual.length === 0) {
        return reply.code(409).send({
          error: `run ${workflowId} has no manual start still open: an alert-driven run rolls back when Alertmanager resolves its alerts; abort it to roll back now`,
        });
      }
      const endsAt = new Date().toISOString();
      for (const [fingerprint, { startsAt }] of manual) {
        await withDeadline(() =>
          signalResolution(client, workflowId, { fingerprint, status: 'resolved', startsAt, endsAt }),
        );
      }
      request.log.info({ workflowId, ...parsed.data }, 'manual run resolved');
      return reply.code(202).send({ workflowId, resolved: manual.length });
    } catch (error) {
      return temporalFailure(reply, workflowId, error);
    }
  });

  app.post<{ Params: RunParams }>('/v1/runs/:workflowId/decide', async (request, reply) => {
    const { workflowId } = request.params;
    const impossible = impossibleRun(reply, workflowId);
    if (impossible) return impossible;
    const parsed = decisionSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, 'decision', parsed.error, decisionSchema);
    // The ingress token says a request may use the API, not who sends it: a decision needs the operator's own token.
    const operator = operatorOf(request.headers['x-operator-token'], options.operatorTokens);
    if (!operator) {
      return reply.code(401).send({
        error:
          'a decision needs your own operator token in X-Operator-Token (approvals.operatorTokens): the ingress token does not say who you are',
      });
    }
    const { by = operator, ...rest } = parsed.data;
    if (by !== operator) return reply.code(403).send({ error: `this operator token is ${operator}'s, not ${by}'s` });
    const idempotencyKey = request.headers['idempotency-key'];
    try {
      const result = await withDeadline(() =>
        decide(
          { ...options, client },
          workflowId,
          { ...rest, by, via: 'api' },
          typeof idempotencyKey === 'string' ? `api/${idempotencyKey}` : undefined,
        ),
      );
      if (result.outcome === 'decided')
        return reply
          .code(200)
          .send({ workflowId, decision: result.decision, approvalsStillNeeded: result.approvalsStillNeeded });
      request.log.warn(
        { workflowId, stepId: parsed.data.stepId, by: parsed.data.by, refusal: result.refusal },
        'decision refused',
      );
      return reply.code(result.unauthorised ? 403 : 409).send({ error: result.refusal });
    } catch (error) {
      return temporalFailure(reply, workflowId, error);
    }
  });

  app.post<{ Params: RunParams }>('/v1/runs/:workflowId/abort', async (request, reply) => {
    const { workflowId } = request.params;
    const impossible = impossibleRun(reply, workflowId);
    if (impossible) return impossible;
    const parsed = operatorActSchema.safeParse(request.body);
    if (!parsed.success) return invalid(reply, 'abort', parsed.error, operatorActSchema);
    try {
      const outcome = await withDeadline(() =>
        client.workflow.getHandle(workflowId).executeUpdate(abortUpdate, { args: [parsed.data] }),
      );
      return reply.code(200).send({ workflowId, outcome });
    } catch (error) {
      return temporalFailure(reply, workflowId, error);
    }
  });
}
