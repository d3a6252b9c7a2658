// POST /slack/interactivity: approval buttons clicked in Slack. The request is Slack's, signed
// with the signing secret over the raw body (no bearer token); it is acknowledged at once, inside
// Slack's 3 seconds, and the decision is taken after: the clicker hears back in an ephemeral
// message when it was refused (not an approver, already decided, the same person twice) or when
// a second approver is still needed. The same click delivered again (Slack retries) counts once.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { parseApprovalClick, type ApprovalClick } from '../slack/interactivity';
import { verifySlackRequest } from '../slack/signature';
import { decide, type DecisionContext } from './decisions';

export interface SlackInteractivityOptions extends DecisionContext {
  signingSecret: string;
  /** How long the decision may take after the acknowledgement. */
  temporalTimeoutMs: number;
}

/** An ephemeral reply to the clicker through the click's response_url. */
async function replyTo(click: ApprovalClick, text: string): Promise<void> {
  const response = await fetch(click.responseUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`Slack's response_url answered ${response.status}`);
}

function answerFor(result: Awaited<ReturnType<typeof decide>>): string | undefined {
  if (result.outcome === 'refused') return `Not recorded: ${result.refusal}`;
  if (result.approvalsStillNeeded > 0) return `Recorded your approval; ${result.approvalsStillNeeded} more approver${result.approvalsStillNeeded === 1 ? '' : 's'} needed.`;
  return undefined;
}

export function registerSlackInteractivity(app: FastifyInstance, options: SlackInteractivityOptions): void {
  app.register((slack, _options, done) => {
    // The signature covers the body exactly as sent: keep it as text, parse after verifying.
    slack.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) => parsed(null, body));

    slack.post('/slack/interactivity', async (request, reply) => {
      const rawBody = typeof request.body === 'string' ? request.body : '';
      const verification = verifySlackRequest({
        signingSecret: options.signingSecret,
        timestamp: request.headers['x-slack-request-timestamp'],
        signature: request.headers['x-slack-signature'],
        rawBody,
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      if (!verification.ok) {
        request.log.warn({ reason: verification.reason }, 'refused a Slack request');
        return reply.code(401).send({ error: verification.reason });
      }
      const parsed = parseApprovalClick(rawBody);
      if (!parsed.ok) return reply.code(400).send({ error: parsed.reason });
      const { click } = parsed;

      void reply.code(200).send();
      const decision = { stepId: click.stepId, approve: click.action === 'approve', by: click.user, via: 'slack' };
      try {
        const result = await options.client.withDeadline(Date.now() + options.temporalTimeoutMs, () =>
          decide(options, click.workflowId, decision, `slack/${click.user}/${click.actionTs}`),
        );
        request.log.info({ workflowId: click.workflowId, ...decision, outcome: result.outcome }, 'Slack decision');
        const answer = answerFor(result);
        if (answer) await replyTo(click, answer);
      } catch (error) {
        request.log.error({ err: error, workflowId: click.workflowId, ...decision }, 'could not take a Slack decision');
        const why = error instanceof WorkflowNotFoundError ? 'the run has ended; nothing waits for this decision' : `${(error as Error).message}. Try again`;
        await replyTo(click, `Not recorded: ${why}.`).catch((replyError: unknown) =>
          request.log.error({ err: replyError }, 'could not tell the clicker either'),
        );
      }
    });
    done();
  });
}
