// A CAPA in Slack, through the real Slack notifier and ingress against the Slack Web API wire server, on a real
// Temporal dev server: posted with Fill in and Close buttons, reminders in its thread mentioning the group, the Fill in
// button opening the modal (views.open) only for people who may fill it, the modal's submission filling what changed
// and showing a refusal on its field, Close refused (not a closer, fields missing) and then taken, and the message
// updated to the CAPA's state at each step.
import type { FastifyInstance } from 'fastify';
import { SlackApi } from '../../notify/slack/slack-api';
import { SlackDirectory } from '../../notify/slack/slack-directory';
import { SlackNotifier } from '../../notify/slack/slack-notifier';
import { slackSettingsSchema } from '../../notify/slack/slack-settings';
import { slackViews } from '../../ingress/slack-capa';
import { capaStatusQuery, capaWorkflowId, type CapaStatus } from '../../workflows/capa/definitions';
import { statusQuery } from '../../workflows/playbook-run/definitions';
import { alert } from '../helpers/alerts';
import { startIngress } from '../helpers/ingress';
import { SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET } from '../helpers/secrets';
import { silentLogger } from '../helpers/simulator';
import {
  blockActionsPayload,
  interactivityFormBody,
  slackSignature,
  startSlackApiServer,
  viewSubmissionPayload,
  type SlackApiServer,
} from '../helpers/slack-api-server';
import { COST_PLAYBOOK } from '../helpers/capa';
import { waitFor } from '../helpers/wait';
import { startHarness, type Harness } from '../helpers/workflow-harness';

const QUEUE = 'slack-capa';

let harness: Harness;
let slack: SlackApiServer;
let ingress: FastifyInstance;
let base: string;

beforeAll(async () => {
  harness = await startHarness();
  slack = await startSlackApiServer();
  slack.addChannel({ id: 'C0FINOPS', name: 'finops' });
  slack.addUserGroup('S0FINOPS', ['U0FINOPS']);
  const settings = slackSettingsSchema.parse({
    token: SLACK_BOT_TOKEN,
    signingSecret: SLACK_SIGNING_SECRET,
    apiUrl: slack.apiUrl,
    channels: { finops: 'C0FINOPS' },
    groups: { finops: 'S0FINOPS' },
    defaultChannel: 'C0FINOPS',
  });
  await harness.startWorker(QUEUE, { notifier: new SlackNotifier(settings, silentLogger()) });
  const api = new SlackApi(settings, silentLogger());
  const started = await startIngress(harness, {
    taskQueue: QUEUE,
    slackSigningSecret: SLACK_SIGNING_SECRET,
    directory: new SlackDirectory(api, settings.groups),
    slackViews: slackViews(api),
  });
  ingress = started.app;
  base = started.url.replace('/alerts/alertmanager', '');
});
afterAll(async () => {
  await ingress?.close();
  await slack?.close();
  await harness?.close();
});

/** Posts an interactivity payload as Slack does: a signed form. */
async function interact(payload: unknown) {
  const body = interactivityFormBody(payload);
  const signedAt = Math.floor(Date.now() / 1000);
  const response = await fetch(`${base}/slack/interactivity`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Slack-Request-Timestamp': String(signedAt),
      'X-Slack-Signature': slackSignature(body, signedAt),
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

let clicks = 0;
/** A click on the CAPA message's button; answers the HTTP status and the response_url path of the ephemeral reply. */
async function click(user: string, actionId: 'capa_fill' | 'capa_close', capaId: string, messageTs: string) {
  const actionTs = `1700000300.${String(++clicks).padStart(6, '0')}`;
  const replyPath = `${user}-capa-${clicks}`;
  const { status } = await interact({
    ...blockActionsPayload({
      user,
      actionId,
      value: capaId,
      channel: 'C0FINOPS',
      messageTs,
      responseUrl: slack.responseUrl(replyPath),
      actionTs,
    }),
    trigger_id: `trigger-${clicks}`,
  });
  return { status, trigger: `trigger-${clicks}`, replyPath };
}
const ephemeral = (path: string) =>
  waitFor(`the reply at ${path}`, () => {
    const post = slack.responseUrlPosts.find((posted) => posted.path.endsWith(path));
    return post ? (post.body as { text: string; response_type: string }) : undefined;
  });

const channelMessages = () => slack.messages('C0FINOPS');
const textOf = (blocks: unknown) => JSON.stringify(blocks);

test('a CAPA in Slack: posted with its buttons, reminded in its thread, filled through the modal and closed, by the people allowed to', async () => {
  const run = await harness.fire(COST_PLAYBOOK, alert({ route: 'chat', tenant: 'acme' }), {
    taskQueue: QUEUE,
    capa: { families: ['cost'], notifyTo: ['finops'], remindEveryMs: 1_500 },
  });
  await waitFor('the run to mitigate', () => harness.stateOf(run, 'mitigated'));
  const capaId = capaWorkflowId(run.workflowId, (await run.describe()).runId);
  expect((await run.query(statusQuery)).capa).toEqual({ capaId });
  const capa = harness.env.client.workflow.getHandle(capaId);

  // Posted once, to finops, with its two buttons carrying the CAPA's id.
  const posted = await waitFor('the CAPA message', () =>
    channelMessages().find((message) => message.text?.startsWith('CAPA opened')),
  );
  expect(posted.text).toBe('CAPA opened: LLMInputTokensPerRequestHigh on route=chat,tenant=acme (cap-context-cost)');
  const blocks = posted.blocks as Array<{ type: string; elements?: Array<{ action_id?: string; value?: string }> }>;
  expect(blocks.find((block) => block.type === 'actions')?.elements).toEqual([
    expect.objectContaining({ action_id: 'capa_fill', value: capaId }),
    expect.objectContaining({ action_id: 'capa_close', value: capaId }),
  ]);
  expect(textOf(blocks)).toContain('Input tokens per request are 3.4x the baseline');

  // Reminded in its thread, the finops group mentioned, until it has an owner.
  const reminder = await waitFor('a reminder in the thread', () =>
    channelMessages().find((message) => message.threadTs === posted.ts),
  );
  expect(reminder.text).toBe(
    '<!subteam^S0FINOPS> this CAPA is still open. Still to fill: Root cause, Corrective action, Preventive action, Owner, Due date.',
  );

  // Fill in: an intern may not; nothing opens, they are told why.
  const intern = await click('U0INTERN', 'capa_fill', capaId, posted.ts);
  expect(intern.status).toBe(200);
  expect((await ephemeral(intern.replyPath)).text).toMatch(/^Not allowed: U0INTERN may not fill CAPA /);
  expect(slack.views).toHaveLength(0);

  // An approver gets the modal, opened with the click's trigger.
  const sre = await click('U0SRE', 'capa_fill', capaId, posted.ts);
  expect(sre.status).toBe(200);
  expect(slack.views).toHaveLength(1);
  const [opened] = slack.views;
  expect(opened!.triggerId).toBe(sre.trigger);
  expect(opened!.view).toMatchObject({ type: 'modal', callback_id: 'capa_fill_modal', private_metadata: capaId });
  const inputs = (opened!.view.blocks as Array<{ type: string; block_id?: string; element?: { type: string } }>)
    .filter((block) => block.type === 'input')
    .map((block) => `${block.block_id}:${block.element!.type}`);
  expect(inputs).toEqual([
    'rootCause:plain_text_input',
    'correctiveAction:plain_text_input',
    'preventiveAction:plain_text_input',
    'owner:users_select',
    'dueDate:datepicker',
  ]);

  // Submitted by someone who may not fill: the modal shows why, on the field.
  const lead = await interact(viewSubmissionPayload('U0LEAD', opened!, { rootCause: { value: 'not mine to say' } }));
  expect(lead.status).toBe(200);
  expect(lead.body).toEqual({
    response_action: 'errors',
    errors: { rootCause: expect.stringMatching(/^U0LEAD may not fill CAPA /) as string },
  });

  // Submitted by the approver: filled, and the message shows it.
  const saved = await interact(
    viewSubmissionPayload('U0SRE', opened!, {
      rootCause: { value: 'a prompt template tripled the context' },
      owner: { selected_user: 'U0INTERN' },
      dueDate: { selected_date: '2099-01-15' },
    }),
  );
  expect(saved).toEqual({ status: 200, body: {} });
  expect((await capa.query(capaStatusQuery)).fields).toEqual({
    rootCause: 'a prompt template tripled the context',
    owner: 'U0INTERN',
    dueDate: '2099-01-15',
  });
  await waitFor(
    'the message to show the owner',
    () =>
      textOf(channelMessages().find((message) => message.ts === posted.ts)?.blocks).includes('<@U0INTERN>') ||
      undefined,
  );

  // Close with fields missing: refused by the CAPA, told to the clicker.
  const early = await click('U0SRE', 'capa_close', capaId, posted.ts);
  expect((await ephemeral(early.replyPath)).text).toBe(
    'Not closed: fill correctiveAction, preventiveAction before closing',
  );

  // The owner fills the rest through the modal (only what changed is filled as theirs), and may not close it.
  await click('U0INTERN', 'capa_fill', capaId, posted.ts);
  expect(slack.views).toHaveLength(2);
  const ownerSaved = await interact(
    viewSubmissionPayload(
      'U0INTERN',
      slack.views[1]!,
      {
        rootCause: { value: 'a prompt template tripled the context' },
        correctiveAction: { value: 'reverted the template' },
        preventiveAction: { value: 'size check on template changes' },
        owner: { selected_user: 'U0INTERN' },
        dueDate: { selected_date: '2099-01-15' },
      },
      'V00000002',
    ),
  );
  expect(ownerSaved).toEqual({ status: 200, body: {} });
  const ownerClose = await click('U0INTERN', 'capa_close', capaId, posted.ts);
  expect((await ephemeral(ownerClose.replyPath)).text).toMatch(/^Not closed: U0INTERN may not close CAPA /);

  // The approver closes it: the message loses its buttons and says who closed it.
  await click('U0SRE', 'capa_close', capaId, posted.ts);
  const final = (await capa.result()) as CapaStatus;
  expect(final).toMatchObject({ state: 'closed', closed: { by: 'U0SRE' } });
  expect(final.history.map(({ by, what }) => `${by}: ${what}`)).toEqual([
    `finops-soar: opened for run ${run.workflowId}`,
    expect.stringMatching(/^U0INTERN: refused to fill: /) as string,
    expect.stringMatching(/^U0LEAD: refused to fill: /) as string,
    'U0SRE: filled rootCause, owner, dueDate (slack)',
    'U0INTERN: filled correctiveAction, preventiveAction (slack)',
    expect.stringMatching(/^U0INTERN: refused to close: /) as string,
    'U0SRE: closed (slack)',
  ]);
  const closedMessage = await waitFor('the message to show the close', () => {
    const message = channelMessages().find((candidate) => candidate.ts === posted.ts);
    return message?.text?.startsWith('CAPA closed') ? message : undefined;
  });
  const closedBlocks = closedMessage.blocks as Array<{ type: string }>;
  expect(closedBlocks.some((block) => block.type === 'actions')).toBe(false);
  expect(textOf(closedBlocks)).toContain('Closed by <@U0SRE>');
});

test('a CAPA button without what Slack always sends is refused, and a modal for another callback is not a CAPA', async () => {
  const withoutTrigger: Partial<ReturnType<typeof blockActionsPayload>> = blockActionsPayload({
    user: 'U0SRE',
    actionId: 'capa_fill',
    value: 'capa/x/y',
    channel: 'C0FINOPS',
    messageTs: '1.2',
    responseUrl: slack.responseUrl('bad'),
  });
  delete withoutTrigger.trigger_id;
  const bad = await interact(withoutTrigger);
  expect(bad.status).toBe(400);
  expect(bad.body).toEqual({ error: expect.stringMatching(/^CAPA button: /) as string });
  const other = await interact({ type: 'view_submission', user: { id: 'U0SRE' }, view: { callback_id: 'other' } });
  expect(other.status).toBe(400);
});
