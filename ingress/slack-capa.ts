// A CAPA's buttons and modal in Slack (notify/slack/capa-message.ts), answered within Slack's 3 seconds:
//   Fill in: opens the modal (views.open with the click's trigger_id, valid 3 seconds) for people who may fill it, or
//     tells the clicker why not, ephemerally; the refusal is kept in the CAPA's history.
//   Close:   acknowledged at once, then closed as the clicker; a refusal (not a closer, fields missing) is told to them.
//   The modal submitted: the fields that changed are filled as the submitter; a refusal is shown in the modal, on the
//     field it is about.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authorised, closeCapa, fillCapa, recordRefusal, type CapaContext } from '../capa/capa-actions';
import type { CapaInteraction, CapaSubmission } from '../notify/slack/capa-interactivity';
import { capaModal } from '../notify/slack/capa-message';
import type { SlackApi } from '../notify/slack/slack-api';
import { CAPA_FIELDS, capaStatusQuery, type CapaFields } from '../workflows/capa/definitions';
import type { SlackEndpointsOptions } from './slack-routes';
import { replyTo } from './slack-replies';

/** views.open, through the bot's Web API client (https://docs.slack.dev/reference/methods/views.open). */
export interface SlackViews {
  open(triggerId: string, view: ReturnType<typeof capaModal>): Promise<void>;
}

/** The CAPA form, opened with the bot's token. */
export const slackViews = (api: SlackApi): SlackViews => ({
  async open(triggerId, view) {
    await api.call('views.open', { doing: 'opening the CAPA form' }, (client) =>
      client.views.open({ trigger_id: triggerId, view }),
    );
  },
});

// Within Slack's 3 seconds, with room for the answer to travel.
const SLACK_DEADLINE_MS = 2_500;

const contextOf = (options: SlackEndpointsOptions): CapaContext => ({
  client: options.client,
  approvers: options.approvers,
  closers: options.capaClosers,
  directory: options.directory,
});

const failure = (error: unknown) =>
  error instanceof WorkflowUpdateFailedError ? (error.cause?.message ?? error.message) : (error as Error).message;

/** The block the CAPA's own refusal (an invalid field) belongs on: the field it names first, else the root cause. */
function blockOf(message: string): keyof CapaFields {
  const named = CAPA_FIELDS.map((name) => [name, message.indexOf(name)] as const).filter(([, at]) => at >= 0);
  return named.sort((a, b) => a[1] - b[1])[0]?.[0] ?? 'rootCause';
}

async function submit(submission: CapaSubmission, context: CapaContext): Promise<Record<string, unknown>> {
  const { user, capaId } = submission;
  const status = await context.client.workflow.getHandle(capaId).query(capaStatusQuery);
  // The modal shows what was filled: only what the submitter changed is filled again, as theirs.
  const changed = Object.fromEntries(
    Object.entries(submission.fields).filter(([name, value]) => status.fields[name as keyof CapaFields] !== value),
  );
  if (Object.keys(changed).length === 0) return {};
  const result = await fillCapa(
    context,
    capaId,
    { by: user, fields: changed, via: 'slack' },
    `slack/${submission.viewId}`,
  );
  if (result.outcome === 'done') return {};
  // Not theirs to fill, or closed: said on the first field, whatever names the refusal mentions.
  return { response_action: 'errors', errors: { rootCause: result.refusal } };
}

export async function answerCapaInteraction(
  interaction: CapaInteraction,
  options: SlackEndpointsOptions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const context = contextOf(options);
  const within = <T>(call: () => Promise<T>) => options.client.withDeadline(Date.now() + SLACK_DEADLINE_MS, call);
  if (interaction.kind === 'invalid') return reply.code(400).send({ error: interaction.reason });

  if (interaction.kind === 'submission') {
    const { submission } = interaction;
    try {
      const answer = await within(() => submit(submission, context));
      request.log.info({ capaId: submission.capaId, by: submission.user, answer }, 'CAPA filled from Slack');
      return reply.send(answer);
    } catch (error) {
      const message = failure(error);
      request.log.warn({ err: error, capaId: submission.capaId, by: submission.user }, 'CAPA fill from Slack failed');
      return reply.send({ response_action: 'errors', errors: { [blockOf(message)]: `Not saved: ${message}` } });
    }
  }

  const { click } = interaction;
  const tell = (text: string) =>
    replyTo(click.responseUrl, text).catch((error: unknown) =>
      request.log.error({ err: error, capaId: click.capaId }, 'could not answer the CAPA click'),
    );
  if (click.kind === 'fill') {
    // The modal must open within the trigger's 3 seconds: the answer to Slack waits for it.
    try {
      const status = await within(() => options.client.workflow.getHandle(click.capaId).query(capaStatusQuery));
      const refusal =
        status.state === 'closed'
          ? `CAPA ${click.capaId} is closed`
          : await authorised(context, status, click.user, 'fill');
      if (refusal) {
        if (status.state === 'open')
          await within(() => recordRefusal(context, click.capaId, click.user, 'fill', refusal));
        void reply.code(200).send();
        await tell(`Not allowed: ${refusal}`);
        return reply;
      }
      if (!options.slackViews) throw new Error('Slack is not configured on the ingress');
      await options.slackViews.open(click.triggerId, capaModal(status));
      return reply.code(200).send();
    } catch (error) {
      request.log.error({ err: error, capaId: click.capaId }, 'could not open the CAPA form');
      void reply.code(200).send();
      await tell(`Could not open the form (${failure(error)}); fill it with \`finops-soar capa fill\` or try again.`);
      return reply;
    }
  }

  void reply.code(200).send();
  try {
    const result = await within(() =>
      closeCapa(context, click.capaId, { by: click.user, via: 'slack' }, `slack/${click.user}/${click.actionTs}`),
    );
    request.log.info({ capaId: click.capaId, by: click.user, outcome: result.outcome }, 'CAPA close from Slack');
    if (result.outcome === 'refused') await tell(`Not closed: ${result.refusal}`);
  } catch (error) {
    request.log.warn({ err: error, capaId: click.capaId, by: click.user }, 'CAPA close from Slack failed');
    await tell(`Not closed: ${failure(error)}`);
  }
  return reply;
}
