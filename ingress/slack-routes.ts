// Slack's requests, signed with the signing secret over the raw body (no bearer token):
//   POST /slack/interactivity: approval buttons clicked. Acknowledged at once, inside Slack's 3
//     seconds, and the decision is taken after (closing the ingress waits for it): the clicker
//     hears back in an ephemeral message when it was refused (not an approver, already decided,
//     the same person twice) or when a second approver is still needed. The same click delivered
//     again (Slack retries) counts once.
//   POST /slack/commands: the slash command, `/finops-soar start PLAYBOOK [label=value…] REASON`,
//     starts a playbook by hand for an approver of it, who cannot then approve its steps.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { parseApprovalClick } from '../notify/slack/interactivity';
import { verifySlackRequest } from '../notify/slack/signature';
import { authorize } from '../approvals/approvers';
import type { ManualStart } from '../alerts/manual';
import { decide } from '../approvals/decisions';
import { startManualRun, type RunsApiOptions } from './runs-api';
import { escapeText } from '../notify/slack/slack-messages';
import { parseCapaInteraction } from '../notify/slack/capa-interactivity';
import { answerCapaInteraction, type SlackViews } from './slack-capa';
import { replyTo } from './slack-replies';

export interface SlackEndpointsOptions extends RunsApiOptions {
  signingSecret: string;
  /** Opens the CAPA's Fill in modal; absent, the button answers that the CLI or API fills it. */
  slackViews?: SlackViews | undefined;
  /** finops.capa.closers; absent, the CAPA's playbook's approvers close. */
  capaClosers?: readonly string[] | undefined;
}

// A slash command is answered synchronously, so its start must fit Slack's 3 seconds.
const SLASH_COMMAND_TIMEOUT_MS = 2_500;
const SLASH_USAGE =
  'Usage: `/finops-soar start PLAYBOOK [label=value …] REASON`, e.g. `/finops-soar start war-room route=chat p99 latency doubled`';

function answerFor(result: Awaited<ReturnType<typeof decide>>): string | undefined {
  if (result.outcome === 'refused') return `Not recorded: ${result.refusal}`;
  if (result.approvalsStillNeeded > 0)
    return `Recorded your approval; ${result.approvalsStillNeeded} more approver${result.approvalsStillNeeded === 1 ? '' : 's'} needed.`;
  return undefined;
}

/** `/finops-soar start PLAYBOOK [label=value…] REASON` as a manual start, or why it is not one. */
export function parseSlashCommand(
  text: string,
  user: string,
): { ok: true; start: ManualStart } | { ok: false; reason: string } {
  const [verb, playbook, ...rest] = text.trim().split(/\s+/);
  if (verb !== 'start' || !playbook) return { ok: false, reason: SLASH_USAGE };
  const labels = Object.fromEntries(
    rest
      .filter((word) => /^[A-Za-z_][A-Za-z0-9_]*=./.test(word))
      .map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]),
  );
  const reason = rest.filter((word) => !/^[A-Za-z_][A-Za-z0-9_]*=./.test(word)).join(' ');
  if (!reason) return { ok: false, reason: `Say why after the labels. ${SLASH_USAGE}` };
  return { ok: true, start: { playbook, labels, annotations: {}, startedBy: user, reason } };
}

export function registerSlackEndpoints(app: FastifyInstance, options: SlackEndpointsOptions): void {
  app.register((slack, _options, done) => {
    // The signature covers the body exactly as sent: keep it as text, parse after verifying.
    slack.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) =>
      parsed(null, body),
    );
    slack.addHook('preHandler', async (request, reply) => {
      const verification = verifySlackRequest({
        signingSecret: options.signingSecret,
        timestamp: request.headers['x-slack-request-timestamp'],
        signature: request.headers['x-slack-signature'],
        rawBody: typeof request.body === 'string' ? request.body : '',
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      if (!verification.ok) {
        request.log.warn({ reason: verification.reason }, 'refused a Slack request');
        await reply.code(401).send({ error: verification.reason });
      }
    });

    slack.post('/slack/commands', async (request, reply) => {
      const form = new URLSearchParams(request.body as string);
      const user = form.get('user_id') ?? '';
      const command = parseSlashCommand(form.get('text') ?? '', user);
      if (!command.ok) return reply.send({ response_type: 'ephemeral', text: command.reason });
      const { start } = command;
      const severity = options.playbooks.find(({ spec }) => spec.name === start.playbook)?.spec.severity;
      // Starting a run is for the people trusted to approve it (who then cannot approve this one).
      const authorization = severity
        ? await authorize(user, { playbook: start.playbook, severity }, options.approvers, options.directory)
        : { ok: true as const };
      if (!authorization.ok)
        return reply.send({ response_type: 'ephemeral', text: `Not started: ${authorization.reason}` });
      try {
        const result = await startManualRun(
          { ...options, temporalTimeoutMs: Math.min(options.temporalTimeoutMs, SLASH_COMMAND_TIMEOUT_MS) },
          start,
        );
        if (result.outcome !== 'started')
          return reply.send({ response_type: 'ephemeral', text: `Not started: ${result.error}` });
        request.log.info(
          { workflowId: result.workflowId, startedBy: user, reason: start.reason },
          'run started from Slack',
        );
        return reply.send({
          response_type: 'in_channel',
          // The target and reason are the command's text: escaped, so that they mention and link no one.
          text: `<@${user}> started ${escapeText(start.playbook)} on ${escapeText(result.target)}${result.dryRun ? ' (dry run)' : ''}: ${escapeText(start.reason)}. Run: ${escapeText(result.workflowId)}`,
        });
      } catch (error) {
        request.log.error({ err: error, playbook: start.playbook }, 'could not start a run from Slack');
        return reply.send({
          response_type: 'ephemeral',
          text: `Not started: Temporal did not answer in time (${(error as Error).message}); try again`,
        });
      }
    });

    // Clicks acknowledged but not yet decided: closing the ingress waits for them, so a click Slack
    // was told is received is never dropped by a shutdown.
    const deciding = new Set<Promise<void>>();
    slack.addHook('onClose', async () => {
      await Promise.allSettled(deciding);
    });

    slack.post('/slack/interactivity', async (request, reply) => {
      const rawBody = request.body as string;
      const capa = parseCapaInteraction(rawBody);
      if (capa) return answerCapaInteraction(capa, options, request, reply);
      const parsed = parseApprovalClick(rawBody);
      if (!parsed.ok) return reply.code(400).send({ error: parsed.reason });
      const { click } = parsed;

      void reply.code(200).send();
      const decision = { stepId: click.stepId, approve: click.action === 'approve', by: click.user, via: 'slack' };
      const work = (async () => {
        try {
          const result = await options.client.withDeadline(Date.now() + options.temporalTimeoutMs, () =>
            decide(options, click.workflowId, decision, `slack/${click.user}/${click.actionTs}`),
          );
          request.log.info({ workflowId: click.workflowId, ...decision, outcome: result.outcome }, 'Slack decision');
          const answer = answerFor(result);
          if (answer) await replyTo(click.responseUrl, answer);
        } catch (error) {
          request.log.error(
            { err: error, workflowId: click.workflowId, ...decision },
            'could not take a Slack decision',
          );
          const why =
            error instanceof WorkflowNotFoundError
              ? 'the run has ended; nothing waits for this decision'
              : `${(error as Error).message}. Try again`;
          await replyTo(click.responseUrl, `Not recorded: ${why}.`).catch((replyError: unknown) =>
            request.log.error({ err: replyError }, 'could not tell the clicker either'),
          );
        }
      })();
      deciding.add(work);
      await work;
      deciding.delete(work);
    });
    done();
  });
}
