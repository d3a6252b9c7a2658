// Approvals and the slash command in Slack end to end, on a real Temporal dev server: the request
// is posted with its buttons through @slack/web-api to a local server speaking Slack's Web API;
// clicks and commands come back as signed requests. Forged and expired signatures are refused; an unauthorised
// clicker, a double click and the same person twice are answered in an ephemeral reply and
// recorded; two different approvers let the S1 throttle through, and the message shows who.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import { loadPlaybooks, parsePlaybook } from '../../playbook/playbook-load';
import { SlackApi } from '../../notify/slack/slack-api';
import { parseApprovalButtonValue } from '../../notify/slack/approval-button';
import { SlackDirectory } from '../../notify/slack/slack-directory';
import { SlackNotifier } from '../../notify/slack/slack-notifier';
import { slackSettingsSchema } from '../../notify/slack/slack-settings';
import {
  alertNotificationSignal,
  decideUpdate,
  statusQuery,
  type RunStatus,
} from '../../workflows/playbook-run/definitions';
import { playbookRunId } from '../../workflows/ids';
import { alert, resolved } from '../helpers/alerts';
import { INGRESS_TOKEN, startIngress, TEST_PLAYBOOKS } from '../helpers/ingress';
import { silentLogger } from '../helpers/simulator';
import {
  blockActionsPayload,
  interactivityFormBody,
  SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET,
  slackSignature,
  startSlackApiServer,
  type SlackApiServer,
} from '../helpers/slack-api-server';
import { recordHistoryIfAsked } from '../helpers/histories';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const SLOW_APPROVAL = `
name: slow-approval
description: An S1 step nobody answers.
severity: S1
match: [alertname="SlowApproval"]
target: route
steps:
  - id: approve-break
    approval:
      summary: "Break the circuit of {{ labels.route }}"
      timeout: 3s
      remindAfter: 1s
      escalate: { after: 2s, mention: [sre-leads], alsoTo: [incidents] }
  - id: break
    action: gateway.setRoutePolicy
    params: { policy: { circuit: { state: open, failMode: open } } }
`;

const WAR_ROOM = loadPlaybooks(join(__dirname, '..', '..', 'playbooks')).filter(({ spec }) => spec.name === 'war-room');
const QUEUE = 'slack-approvals';
let harness: Harness;
let slack: SlackApiServer;
let ingress: FastifyInstance;
let base: string;

beforeAll(async () => {
  harness = await startHarness();
  slack = await startSlackApiServer();
  slack.addChannel({ id: 'C0APPROVALS', name: 'approvals' });
  slack.addChannel({ id: 'C0INCIDENTS', name: 'incidents' });
  slack.addUserGroup('S0SRELEADS', ['U0ALICE']);
  slack.addUserGroup('S0SRE', ['U0ALICE', 'U0SRE']);
  slack.addUserGroup('S0PRODUCT', ['U0PRODUCT']);
  const settings = slackSettingsSchema.parse({
    token: SLACK_BOT_TOKEN,
    signingSecret: SLACK_SIGNING_SECRET,
    apiUrl: slack.apiUrl,
    channels: { approvals: 'C0APPROVALS', incidents: 'C0INCIDENTS' },
    groups: { 'sre-leads': 'S0SRELEADS', sre: 'S0SRE', product: 'S0PRODUCT' },
    defaultChannel: 'C0APPROVALS',
  });
  await harness.startWorker(QUEUE, { notifier: new SlackNotifier(settings, silentLogger()) });
  const started = await startIngress(harness, {
    taskQueue: QUEUE,
    playbooks: [...TEST_PLAYBOOKS, ...WAR_ROOM, parsePlaybook('slow-approval.yaml', SLOW_APPROVAL).playbook!],
    slackSigningSecret: SLACK_SIGNING_SECRET,
    directory: new SlackDirectory(new SlackApi(settings, silentLogger()), settings.groups),
  });
  ingress = started.app;
  base = started.url.replace('/alerts/alertmanager', '');
});

afterAll(async () => {
  await ingress?.close();
  await slack?.close();
  await harness?.close();
});

const RUN = playbookRunId('tier-review', 'route=summarize,tenant=umbrella');
const status = () => harness.env.client.workflow.getHandle(RUN).query(statusQuery);

/** Posts a click as Slack does: a form with the payload, signed at `signedAt` (seconds) with `secret`. */
function click(
  user: string,
  {
    actionTs,
    signedAt = Math.floor(Date.now() / 1000),
    secret = SLACK_SIGNING_SECRET,
    messageTs,
    value,
    to = base,
  }: { actionTs: string; signedAt?: number; secret?: string; messageTs: string; value: string; to?: string },
) {
  const body = interactivityFormBody(
    blockActionsPayload({
      user,
      actionId: 'approve',
      value,
      channel: 'C0APPROVALS',
      messageTs,
      responseUrl: slack.responseUrl(`${user}-${actionTs}`),
      actionTs,
    }),
  );
  return fetch(`${to}/slack/interactivity`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Slack-Request-Timestamp': String(signedAt),
      'X-Slack-Signature': slackSignature(body, signedAt, secret),
    },
    body,
  });
}

const ephemeralTo = (user: string, actionTs: string) =>
  waitFor(`the reply to ${user}`, () => {
    const post = slack.responseUrlPosts.find(({ path }) => path.endsWith(`${user}-${actionTs}`));
    return post ? (post.body as { response_type: string; text: string }) : undefined;
  });

test('an S1 throttle asked in Slack: only signed clicks by approvers count, once each, and two different people are needed', async () => {
  const start = await fetch(`${base}/v1/runs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGRESS_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      playbook: 'tier-review',
      labels: { route: 'summarize', tenant: 'umbrella' },
      startedBy: 'U0SRE',
      reason: 'umbrella at 9x its usual spend',
    }),
  });
  expect(start.status).toBe(202);

  // The request: posted to the approvals channel, with Approve and Reject buttons naming the run and the step.
  const request = await waitFor('the approval message', () =>
    slack.callsTo('chat.postMessage').find(({ body }) => body.channel === 'C0APPROVALS'),
  );
  const blocks = JSON.stringify(request.body.blocks);
  expect(blocks).toContain('Throttle umbrella on summarize to 5 requests/s');
  const buttons = (
    request.body.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>
  ).find(({ type }) => type === 'actions')!.elements!;
  expect(buttons.map(({ action_id }) => action_id)).toEqual(['approve', 'reject']);
  const value = buttons[0]!.value;
  expect(parseApprovalButtonValue(value)).toEqual({
    ok: true,
    target: { workflowId: RUN, stepId: 'approve-throttle' },
  });
  const messageTs = slack.messages('C0APPROVALS')[0]!.ts;
  // Slack has the message before the run has its ts back from the activity: wait for the run.
  const pending = await waitFor('the message in the run', async () => {
    const approval = (await status()).pendingApproval;
    return approval?.message ? approval : undefined;
  });
  expect(pending).toMatchObject({
    approvalsNeeded: 2,
    message: { channel: 'C0APPROVALS', ts: messageTs },
  });

  // Forged and expired signatures: refused outright, nothing reaches the run.
  expect(
    (await click('U0PRODUCT', { actionTs: '1.1', messageTs, value, secret: 'not-the-signing-secret-0123' })).status,
  ).toBe(401);
  expect(
    (await click('U0PRODUCT', { actionTs: '1.2', messageTs, value, signedAt: Math.floor(Date.now() / 1000) - 600 }))
      .status,
  ).toBe(401);

  // An unauthorised clicker: acknowledged, told why, and recorded in the run.
  expect((await click('U0INTERN', { actionTs: '2.1', messageTs, value })).status).toBe(200);
  expect(await ephemeralTo('U0INTERN', '2.1')).toEqual({
    response_type: 'ephemeral',
    replace_original: false,
    text: 'Not recorded: U0INTERN may not approve S1 steps of tier-review; approvers: U0SRE, U0PRODUCT, U0LEAD, sre-leads',
  });

  // A member of an approving user group: the first of two approvals.
  expect((await click('U0ALICE', { actionTs: '3.1', messageTs, value })).status).toBe(200);
  expect((await ephemeralTo('U0ALICE', '3.1')).text).toBe('Recorded your approval; 1 more approver needed.');
  // Slack delivering the same click again counts once; the same person clicking again is refused.
  expect((await click('U0ALICE', { actionTs: '3.1', messageTs, value })).status).toBe(200);
  expect((await click('U0ALICE', { actionTs: '3.2', messageTs, value })).status).toBe(200);
  expect((await ephemeralTo('U0ALICE', '3.2')).text).toBe(
    'Not recorded: U0ALICE already approved step approve-throttle; it needs 2 different people',
  );

  // The starter may not approve their own run.
  expect((await click('U0SRE', { actionTs: '4.1', messageTs, value })).status).toBe(200);
  expect((await ephemeralTo('U0SRE', '4.1')).text).toBe(
    'Not recorded: U0SRE started this run and cannot approve its steps; ask someone else',
  );

  expect((await click('U0PRODUCT', { actionTs: '5.1', messageTs, value })).status).toBe(200);
  await waitFor(
    'the throttle',
    () =>
      harness.simulator.store.get({ route: 'summarize', tenant: 'umbrella' }).policy.rateLimitRps === 5 || undefined,
  );

  // The message now says who approved, and has no buttons left to click.
  const update = await waitFor('the settled message', () =>
    slack.callsTo('chat.update').find(({ body }) => body.ts === messageTs),
  );
  expect(JSON.stringify(update.body.blocks)).toMatch(/<@U0ALICE>.*<@U0PRODUCT>/);
  expect(JSON.stringify(update.body.blocks)).not.toContain('"actions"');

  const final: RunStatus = await status();
  expect(final.decisions.map(({ by, approve, via }) => [by, approve, via])).toEqual([
    ['U0ALICE', true, 'slack'],
    ['U0PRODUCT', true, 'slack'],
  ]);
  expect(final.refusedDecisions.map(({ by, via }) => [by, via])).toEqual([
    ['U0INTERN', 'slack'],
    ['U0ALICE', 'slack'],
    ['U0SRE', 'slack'],
  ]);
  const run = harness.env.client.workflow.getHandle(RUN);
  await run.executeUpdate('abort', { args: [{ by: 'U0SRE', reason: 'test done' }] });
  await run.result();
  recordHistoryIfAsked(harness.env.address, run, 'slack-four-eyes');
});

test('a click on a run that has ended is answered, not lost', async () => {
  const value = JSON.stringify({ w: 'playbook/tier-review/route=nowhere', s: 'approve-throttle' });
  expect((await click('U0PRODUCT', { actionTs: '9.1', messageTs: '1.000', value })).status).toBe(200);
  expect((await ephemeralTo('U0PRODUCT', '9.1')).text).toMatch(/^Not recorded: /);
});

test('closing the ingress waits for the clicks it acknowledged: the clicker is answered before it stops', async () => {
  const closing = await startIngress(harness, { taskQueue: QUEUE, slackSigningSecret: SLACK_SIGNING_SECRET });
  const value = JSON.stringify({ w: 'playbook/tier-review/route=gone', s: 'approve-throttle' });
  const answered = () => slack.responseUrlPosts.some(({ path }) => path.endsWith('U0PRODUCT-9.2'));
  const acknowledged = await click('U0PRODUCT', {
    actionTs: '9.2',
    messageTs: '1.000',
    value,
    to: closing.url.replace('/alerts/alertmanager', ''),
  });
  expect(acknowledged.status).toBe(200);
  // Slack has its 200 and the decision is still being taken: close now, as a shutdown would.
  await closing.app.close();
  expect(answered()).toBe(true);
});

test('nobody decides: a reminder in the thread, then an escalation paging the on-call group and another channel, then the declared outcome (reject, for S1); a late click is told so', async () => {
  const firing = alert({ route: 'code-assist', alertname: 'SlowApproval', severity: 'S1' });
  const handle = await harness.fire(SLOW_APPROVAL, firing, { taskQueue: QUEUE });
  const request = await waitFor('the approval message', () =>
    slack
      .callsTo('chat.postMessage')
      .find(({ body }) => JSON.stringify(body.blocks).includes('Break the circuit of code-assist')),
  );
  const messageTs = slack.messages('C0APPROVALS').find(({ text }) => text?.includes('code-assist'))!.ts;

  await waitFor('the run to go on without the step', () => harness.stateOf(handle, 'mitigated'));
  const threaded = slack
    .callsTo('chat.postMessage')
    .filter(({ body }) => body.thread_ts === messageTs)
    .map(({ body }) => String(body.text));
  expect(threaded).toEqual([
    expect.stringMatching(/Reminder: approve-break of slow-approval .* waits for a decision \(2 distinct approvers\)/),
    expect.stringMatching(/<!subteam\^S0SRELEADS>/),
  ]);
  expect(slack.callsTo('chat.postMessage').some(({ body }) => body.channel === 'C0INCIDENTS')).toBe(true);
  const settled = await waitFor('the settled message', () =>
    slack.callsTo('chat.update').find(({ body }) => body.ts === messageTs),
  );
  expect(JSON.stringify(settled.body.blocks)).toMatch(/[Tt]imed out: rejected/);

  const status = await handle.query(statusQuery);
  expect(status.decisions).toEqual([
    expect.objectContaining({ stepId: 'approve-break', approve: false, by: 'timeout' }),
  ]);
  expect(harness.simulator.store.get({ route: 'code-assist' }).policy.circuit?.state).toBe('closed');

  // A click after the deadline reaches a run that no longer waits: the clicker is told.
  const value = (request.body.blocks as Array<{ type: string; elements?: Array<{ value: string }> }>).find(
    ({ type }) => type === 'actions',
  )!.elements![0]!.value;
  expect((await click('U0PRODUCT', { actionTs: '7.1', messageTs, value })).status).toBe(200);
  expect((await ephemeralTo('U0PRODUCT', '7.1')).text).toBe('Not recorded: step approve-break was already decided');
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  await handle.result();
});

describe('the slash command starts a playbook by hand', () => {
  const command = (user: string, text: string, { secret = SLACK_SIGNING_SECRET } = {}) => {
    const body = new URLSearchParams({
      command: '/finops-soar',
      text,
      user_id: user,
      channel_id: 'C0APPROVALS',
      response_url: slack.responseUrl(`cmd-${user}`),
      trigger_id: '1.2.3',
    }).toString();
    const signedAt = Math.floor(Date.now() / 1000);
    return fetch(`${base}/slack/commands`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Slack-Request-Timestamp': String(signedAt),
        'X-Slack-Signature': slackSignature(body, signedAt, secret),
      },
      body,
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as { response_type?: string; text?: string; error?: string },
    }));
  };
  const RUN_BY_COMMAND = playbookRunId('tier-review', 'route=chat,tenant=initech');

  test('for an approver of the playbook, who is recorded as its starter', async () => {
    const answer = await command(
      'U0LEAD',
      'start tier-review route=chat tenant=initech spend at 9x the 14-day average',
    );
    expect(answer).toEqual({
      status: 200,
      body: {
        response_type: 'in_channel',
        text: `<@U0LEAD> started tier-review on route=chat,tenant=initech: spend at 9x the 14-day average. Run: ${RUN_BY_COMMAND}`,
      },
    });
    const handle = harness.env.client.workflow.getHandle(RUN_BY_COMMAND);
    await waitFor('the approval request', () => harness.stateOf(handle, 'awaiting-approval'));
    const decision = await handle.executeUpdate(decideUpdate, {
      args: [{ stepId: 'approve-throttle', approve: true, by: 'U0LEAD' }],
    });
    expect(decision).toEqual({
      accepted: false,
      refusal: 'U0LEAD started this run and cannot approve its steps; ask someone else',
    });
    await handle.executeUpdate('abort', { args: [{ by: 'U0LEAD', reason: 'test done' }] });
  });

  test('refused, with the reason, for anyone else, a bad command or a forged signature; nothing starts', async () => {
    expect((await command('U0INTERN', 'start tier-review route=chat tenant=hooli spend 9x')).body).toEqual({
      response_type: 'ephemeral',
      text: 'Not started: U0INTERN may not approve S1 steps of tier-review; approvers: U0SRE, U0PRODUCT, U0LEAD, sre-leads',
    });
    expect((await command('U0LEAD', 'start tier-review route=chat tenant=hooli')).body.text).toMatch(
      /^Say why after the labels\. Usage: /,
    );
    expect((await command('U0LEAD', 'stop everything')).body.text).toMatch(/^Usage: `\/finops-soar start PLAYBOOK/);
    expect((await command('U0LEAD', 'start nope route=chat why not')).body.text).toMatch(
      /^Not started: no playbook named nope; known: /,
    );
    expect(
      (
        await command('U0LEAD', 'start tier-review route=chat tenant=hooli spend 9x', {
          secret: 'forged-secret-0123456789abcdef',
        })
      ).status,
    ).toBe(401);
    await expect(
      harness.env.client.workflow.getHandle(playbookRunId('tier-review', 'route=chat,tenant=hooli')).describe(),
    ).rejects.toThrow(WorkflowNotFoundError);
  });
});

test('a war-room started by hand: a channel with SRE and product, and a status message that follows the run to its end', async () => {
  const started = await fetch(`${base}/v1/runs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGRESS_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      playbook: 'war-room',
      labels: { route: 'embeddings' },
      startedBy: 'U0SRE',
      reason: 'embeddings p99 at 4s',
    }),
  });
  expect(started.status).toBe(202);
  const channel = await waitFor('the war-room channel', () => slack.channelNamed('inc-embeddings'));
  // The channel is created before anyone is invited to it: wait for the invitations, not the channel.
  const invited = ['U0ALICE', 'U0SRE', 'U0PRODUCT'];
  await waitFor('SRE and product in the war-room', () =>
    invited.every((user) => slack.members(channel.id).includes(user)) ? true : undefined,
  );
  expect(slack.members(channel.id)).toEqual(expect.arrayContaining(invited));
  const handle = harness.env.client.workflow.getHandle(playbookRunId('war-room', 'route=embeddings'));
  await waitFor('the run to be mitigated', () => harness.stateOf(handle, 'mitigated'));
  const statusTs = (await handle.query(statusQuery)).warRoom!.message.ts;
  const updatesOf = () =>
    slack
      .callsTo('chat.update')
      .filter(({ body }) => body.ts === statusTs)
      .map(({ body }) => JSON.stringify(body.blocks));
  await waitFor(
    'the status message to say mitigated',
    () => updatesOf().some((blocks) => blocks.includes('*Status:* mitigated')) || undefined,
  );

  await fetch(`${base}/v1/runs/${encodeURIComponent(handle.workflowId)}/resolve`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGRESS_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ by: 'U0SRE', reason: 'mitigated upstream' }),
  });
  await handle.result();
  // The run waits for its last post: the message already says how it ended.
  expect(updatesOf().at(-1)).toContain('*Status:* rolled-back');
  recordHistoryIfAsked(harness.env.address, handle, 'slack-war-room');
});
