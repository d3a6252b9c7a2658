// The Slack notifier through the official @slack/web-api client against a local server speaking the Web API:
// the method and body of every call, the Block Kit a person sees, and failures a person can act on.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApprovalRequest, RunReference } from '../../notify/notifier';
import { SlackApi, SlackError } from '../../notify/slack/slack-api';
import { SlackDirectory } from '../../notify/slack/slack-directory';
import { SlackNotifier, warRoomChannelName } from '../../notify/slack/slack-notifier';
import { slackSettingsSchema, type SlackSettings } from '../../notify/slack/slack-settings';
import { freePort } from '../helpers/ports';
import { silentLogger } from '../helpers/simulator';
import {
  BOT_USER_ID,
  SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET,
  startSlackApiServer,
  type SlackApiServer,
} from '../helpers/slack-api-server';

const FORM = 'application/x-www-form-urlencoded';

let slack: SlackApiServer;
let settings: SlackSettings;
let notifier: SlackNotifier;

const run: RunReference = {
  workflowId: 'playbook/cost-s1/route:chat/tenant:acme',
  playbook: 'cost-s1',
  target: 'route:chat/tenant:acme',
  severity: 'S1',
};
const runUrl = 'http://127.0.0.1:8233/namespaces/default/workflows/playbook%2Fcost-s1%2Froute%3Achat%2Ftenant%3Aacme';

const request: ApprovalRequest = {
  run,
  stepId: 'throttle',
  summary: 'Throttle acme on chat to 20 requests/s',
  reason: 'LLMSpendBurnRateHigh: spend on chat/acme is 6.2x its 14-day average (<b>&</b>)',
  costImpact: 'saves about $410/hour',
  deadline: '2024-05-01T12:30:00.000Z',
  approvalsNeeded: 2,
  to: ['finops'],
  links: { alert: 'http://alertmanager:9093/#/alerts?filter={alertname="LLMSpendBurnRateHigh"}', run: runUrl },
};

function settingsFor(server: SlackApiServer, overrides: Record<string, unknown> = {}): SlackSettings {
  return slackSettingsSchema.parse({
    token: SLACK_BOT_TOKEN,
    signingSecret: SLACK_SIGNING_SECRET,
    apiUrl: server.apiUrl,
    channels: { finops: 'C0FINOPS', incidents: 'C0INCIDENTS' },
    groups: { sre: 'S0SRE', product: 'S0PRODUCT' },
    defaultChannel: 'C0ALERTS',
    timeout: '2s',
    ...overrides,
  });
}

beforeEach(async () => {
  slack = await startSlackApiServer();
  slack.addChannel({ id: 'C0FINOPS', name: 'finops' });
  slack.addChannel({ id: 'C0INCIDENTS', name: 'incidents' });
  slack.addChannel({ id: 'C0ALERTS', name: 'alerts' });
  slack.addUserGroup('S0SRE', ['U0ALICE', 'U0BOB']);
  slack.addUserGroup('S0PRODUCT', ['U0CAROL']);
  settings = settingsFor(slack);
  notifier = new SlackNotifier(settings, silentLogger(), {
    runUrl: (reference) => (reference.workflowId === run.workflowId ? runUrl : null),
  });
});
afterEach(() => slack.close());

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a SlackError');
    },
    (error: unknown) => error as SlackError,
  );

const approvalFields = [
  { type: 'mrkdwn', text: '*Target*\n`route:chat/tenant:acme`' },
  { type: 'mrkdwn', text: '*Severity*\nS1' },
  { type: 'mrkdwn', text: '*Playbook · step*\ncost-s1 · throttle' },
  { type: 'mrkdwn', text: '*Estimated cost impact*\nsaves about $410/hour' },
  { type: 'mrkdwn', text: '*Decide by*\n<!date^1714566600^{date_short_pretty} {time}|2024-05-01T12:30:00.000Z>' },
  { type: 'mrkdwn', text: '*Approvals needed*\n2 distinct people' },
];
const approvalContext = [
  { type: 'header', text: { type: 'plain_text', text: 'Approval needed: Throttle acme on chat to 20 requests/s' } },
  { type: 'section', text: { type: 'mrkdwn', text: '*What will change*\nThrottle acme on chat to 20 requests/s' } },
  {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: '*Why*\nLLMSpendBurnRateHigh: spend on chat/acme is 6.2x its 14-day average (&lt;b&gt;&amp;&lt;/b&gt;)',
    },
  },
  { type: 'section', fields: approvalFields },
  {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `<http://alertmanager:9093/#/alerts?filter={alertname="LLMSpendBurnRateHigh"}|the alert> · <${runUrl}|the run in Temporal>`,
      },
    ],
  },
];
const buttonValue = '{"w":"playbook/cost-s1/route:chat/tenant:acme","s":"throttle"}';

describe('settings', () => {
  test('defaults: Slack itself, no mappings, a 2.5 s request timeout', () => {
    expect(
      slackSettingsSchema.parse({
        token: SLACK_BOT_TOKEN,
        signingSecret: SLACK_SIGNING_SECRET,
        defaultChannel: 'C0ALERTS',
      }),
    ).toEqual({
      token: SLACK_BOT_TOKEN,
      signingSecret: SLACK_SIGNING_SECRET,
      apiUrl: 'https://slack.com/api/',
      channels: {},
      groups: {},
      defaultChannel: 'C0ALERTS',
      timeout: 2_500,
    });
  });

  test('a channel given by #name, a user token and an unknown field are refused, each with its field', () => {
    const result = slackSettingsSchema.safeParse({
      token: 'xoxp-user',
      signingSecret: SLACK_SIGNING_SECRET,
      defaultChannel: '#finops',
      channels: { sre: 'sre' },
      extra: 1,
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual([
      '',
      'channels.sre',
      'defaultChannel',
      'token',
    ]);
    expect(slackSettingsSchema.shape.defaultChannel.description).toMatch(/channel ID \(C…, not a #name\)/);
  });
});

describe('notify', () => {
  test('posts once to each mapped channel and once to the default for all unmapped names, with the run and its link', async () => {
    await notifier.notify({
      to: ['finops', 'oncall', 'product', 'finops'],
      message: 'Throttled acme on chat to 20 requests/s',
      run,
    });
    const message = {
      text: 'cost-s1 on route:chat/tenant:acme: Throttled acme on chat to 20 requests/s',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Throttled acme on chat to 20 requests/s' } },
        {
          type: 'context',
          elements: [
            { type: 'mrkdwn', text: '*cost-s1* on `route:chat/tenant:acme` · S1' },
            { type: 'mrkdwn', text: `<${runUrl}|the run>` },
          ],
        },
      ],
      unfurl_links: 'false',
    };
    expect(slack.calls).toEqual([
      {
        method: 'chat.postMessage',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: { channel: 'C0FINOPS', ...message },
      },
      {
        method: 'chat.postMessage',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: { channel: 'C0ALERTS', ...message },
      },
    ]);
    expect(slack.messages('C0ALERTS')).toHaveLength(1);
  });

  test('without a known run link the context has the run only', async () => {
    await notifier.notify({ to: ['finops'], message: 'hello', run: { ...run, workflowId: 'manual/war-room' } });
    expect(slack.calls[0]?.body['blocks']).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: 'hello' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: '*cost-s1* on `route:chat/tenant:acme` · S1' }] },
    ]);
  });
});

describe('approvals', () => {
  test('the request: what, why, target, cost, deadline, approvals needed, links, and Approve / Reject buttons carrying the run and step', async () => {
    const ref = await notifier.requestApproval(request);
    expect(ref).toEqual({ channel: 'C0FINOPS', ts: slack.messages('C0FINOPS')[0]!.ts });
    expect(slack.calls).toEqual([
      {
        method: 'chat.postMessage',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: {
          channel: 'C0FINOPS',
          text: 'Approval needed for throttle of cost-s1 on route:chat/tenant:acme: Throttle acme on chat to 20 requests/s',
          blocks: [
            ...approvalContext,
            {
              type: 'actions',
              block_id: 'approval',
              elements: [
                {
                  type: 'button',
                  action_id: 'approve',
                  style: 'primary',
                  text: { type: 'plain_text', text: 'Approve' },
                  value: buttonValue,
                },
                {
                  type: 'button',
                  action_id: 'reject',
                  style: 'danger',
                  text: { type: 'plain_text', text: 'Reject' },
                  value: buttonValue,
                },
              ],
            },
          ],
          unfurl_links: 'false',
        },
      },
    ]);
  });

  test("asked of several names: the buttons go to the first one's channel, a link to them once to each other channel", async () => {
    // sre and oncall have no channel of their own: both mean the default one.
    const ref = await notifier.requestApproval({ ...request, to: ['finops', 'sre', 'incidents', 'oncall', 'finops'] });
    const permalink = `https://finops-test.slack.com/archives/C0FINOPS/p${ref!.ts.replace('.', '')}`;
    const pointer = `:raising_hand: *Throttle acme on chat to 20 requests/s*\n<${permalink}|The approval request> for throttle of cost-s1 on \`route:chat/tenant:acme\` waits for a decision (2 distinct approvers) until <!date^1714566600^{date_short_pretty} {time}|2024-05-01T12:30:00.000Z>.`;
    expect(ref?.channel).toBe('C0FINOPS');
    expect(slack.calls.slice(1)).toEqual([
      {
        method: 'chat.getPermalink',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: { channel: 'C0FINOPS', message_ts: ref!.ts },
      },
      {
        method: 'chat.postMessage',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: { channel: 'C0ALERTS', text: pointer, unfurl_links: 'false' },
      },
      {
        method: 'chat.postMessage',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: { channel: 'C0INCIDENTS', text: pointer, unfurl_links: 'false' },
      },
    ]);
    // Settling updates the one message with buttons.
    await notifier.settleApproval(ref, request, { outcome: 'moot: the alert resolved', decisions: [] });
    expect(slack.callsTo('chat.update').map(({ body }) => body['channel'])).toEqual(['C0FINOPS']);
  });

  test('a channel the link cannot reach does not fail the request, which is posted once', async () => {
    const unreachable = new SlackNotifier(
      settingsFor(slack, { channels: { finops: 'C0FINOPS', gone: 'C0GONE' } }),
      silentLogger(),
    );
    const ref = await unreachable.requestApproval({ ...request, to: ['finops', 'gone'] });
    expect(ref?.channel).toBe('C0FINOPS');
    expect(slack.calls.map(({ method, body }) => [method, body['channel']])).toEqual([
      ['chat.postMessage', 'C0FINOPS'],
      ['chat.getPermalink', 'C0FINOPS'],
      ['chat.postMessage', 'C0GONE'],
    ]);
    expect(slack.messages('C0FINOPS')).toHaveLength(1);
  });

  test('no cost estimate, no alert link, one approver: those lines are left out; unmapped names post to the default channel', async () => {
    const ref = await notifier.requestApproval({
      ...request,
      costImpact: null,
      approvalsNeeded: 1,
      links: { alert: null, run: runUrl },
      to: ['oncall'],
    });
    expect(ref?.channel).toBe('C0ALERTS');
    const [, , , fields, context] = slack.calls[0]?.body['blocks'] as Array<Record<string, unknown>>;
    expect(fields).toEqual({
      type: 'section',
      fields: [
        approvalFields[0],
        approvalFields[1],
        approvalFields[2],
        approvalFields[4],
        { type: 'mrkdwn', text: '*Approvals needed*\n1' },
      ],
    });
    expect(context).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${runUrl}|the run in Temporal>` }],
    });
  });

  test('once approved, the message keeps its context and the buttons become who approved and when', async () => {
    const ref = await notifier.requestApproval(request);
    await notifier.settleApproval(ref, request, {
      outcome: 'approved',
      decisions: [
        { by: 'U0ALICE', approve: true, at: '2024-05-01T12:05:00.000Z' },
        { by: 'U0BOB', approve: true, at: '2024-05-01T12:07:30.000Z' },
      ],
    });
    expect(slack.calls.map((call) => call.method)).toEqual(['chat.postMessage', 'chat.update']);
    expect(slack.calls[1]).toEqual({
      method: 'chat.update',
      contentType: FORM,
      token: SLACK_BOT_TOKEN,
      body: {
        channel: 'C0FINOPS',
        ts: ref!.ts,
        text: 'throttle of cost-s1 on route:chat/tenant:acme: approved',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'Approved: Throttle acme on chat to 20 requests/s' } },
          ...approvalContext.slice(1),
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: ':white_check_mark: *Approved* by <@U0ALICE> and <@U0BOB> at <!date^1714565250^{date_short_pretty} {time}|2024-05-01T12:07:30.000Z>',
            },
          },
        ],
      },
    });
    const [message] = slack.messages('C0FINOPS');
    expect(message).toMatchObject({ edited: true });
    expect(JSON.stringify(message?.blocks)).not.toContain('"actions"');
  });

  test.each([
    [
      'rejected with a reason, by a CLI identity after a Slack approval',
      {
        outcome: 'rejected' as const,
        decisions: [
          { by: 'U0ALICE', approve: true, at: '2024-05-01T12:05:00.000Z' },
          { by: 'carol@cli', approve: false, at: '2024-05-01T12:06:00.000Z', reason: 'chat is <critical> today' },
        ],
      },
      ':no_entry: *Rejected* by carol@cli at <!date^1714565160^{date_short_pretty} {time}|2024-05-01T12:06:00.000Z>: chat is &lt;critical&gt; today',
      'Rejected',
    ],
    [
      'timed out into rejection with one of two approvals',
      {
        outcome: 'timed out: rejected' as const,
        decisions: [{ by: 'U0ALICE', approve: true, at: '2024-05-01T12:05:00.000Z' }],
      },
      ":hourglass: *Timed out: rejected* at <!date^1714566600^{date_short_pretty} {time}|2024-05-01T12:30:00.000Z>, the step's declared outcome (approved before by <@U0ALICE>, not enough)",
      'Timed out, rejected',
    ],
    [
      'timed out into approval',
      { outcome: 'timed out: approved' as const, decisions: [] },
      ":hourglass: *Timed out: approved* at <!date^1714566600^{date_short_pretty} {time}|2024-05-01T12:30:00.000Z>, the step's declared outcome",
      'Timed out, approved',
    ],
    [
      'moot',
      { outcome: 'moot: the alert resolved' as const, decisions: [] },
      ':large_green_circle: *Moot: the alert resolved* before a decision',
      'Moot, the alert resolved',
    ],
  ])('settled %s: the heading and the outcome line say so', async (_name, outcome, line, heading) => {
    const ref = await notifier.requestApproval(request);
    await notifier.settleApproval(ref, request, outcome);
    const blocks = slack.callsTo('chat.update')[0]?.body['blocks'] as unknown[];
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: `${heading}: Throttle acme on chat to 20 requests/s` },
    });
    expect(blocks.at(-1)).toEqual({ type: 'section', text: { type: 'mrkdwn', text: line } });
  });

  test('settling a request that was never posted calls nothing', async () => {
    await notifier.settleApproval(null, request, { outcome: 'moot: the alert resolved', decisions: [] });
    expect(slack.calls).toEqual([]);
  });

  test('a reminder is a reply in the request thread, not broadcast, mentioning nobody', async () => {
    const ref = await notifier.requestApproval(request);
    await notifier.nudgeApproval(ref, request, { kind: 'reminder', mention: ['sre'], alsoTo: ['incidents'] });
    expect(slack.calls.slice(1)).toEqual([
      {
        method: 'chat.postMessage',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: {
          channel: 'C0FINOPS',
          text: ':bell: Reminder: throttle of cost-s1 on `route:chat/tenant:acme` waits for a decision (2 distinct approvers) until <!date^1714566600^{date_short_pretty} {time}|2024-05-01T12:30:00.000Z>.',
          thread_ts: ref!.ts,
          reply_broadcast: 'false',
          unfurl_links: 'false',
        },
      },
    ]);
    expect(slack.messages('C0INCIDENTS')).toEqual([]);
  });

  test('an escalation mentions the groups in the thread (shown in the channel too) and posts to the other channels with a link to the request', async () => {
    const ref = await notifier.requestApproval(request);
    await notifier.nudgeApproval(ref, request, {
      kind: 'escalation',
      mention: ['sre', 'S0PRODUCT', 'nobody'],
      alsoTo: ['incidents', 'finops'],
    });
    const waits =
      'waits for a decision (2 distinct approvers) until <!date^1714566600^{date_short_pretty} {time}|2024-05-01T12:30:00.000Z>.';
    const permalink = `https://finops-test.slack.com/archives/C0FINOPS/p${ref!.ts.replace('.', '')}`;
    expect(slack.calls.slice(1)).toEqual([
      {
        method: 'chat.postMessage',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: {
          channel: 'C0FINOPS',
          text: `:rotating_light: Escalation <!subteam^S0SRE> <!subteam^S0PRODUCT> @nobody: throttle of cost-s1 on \`route:chat/tenant:acme\` ${waits}`,
          thread_ts: ref!.ts,
          reply_broadcast: 'true',
          unfurl_links: 'false',
        },
      },
      {
        method: 'chat.getPermalink',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: { channel: 'C0FINOPS', message_ts: ref!.ts },
      },
      {
        method: 'chat.postMessage',
        contentType: FORM,
        token: SLACK_BOT_TOKEN,
        body: {
          channel: 'C0INCIDENTS',
          text: `:rotating_light: Escalation <!subteam^S0SRE> <!subteam^S0PRODUCT> @nobody: <${permalink}|The approval request> for throttle of cost-s1 on \`route:chat/tenant:acme\` ${waits}`,
          unfurl_links: 'false',
        },
      },
    ]);
  });

  test('an escalation for a request that was never posted goes to the request channel, unthreaded, without a permalink', async () => {
    await notifier.nudgeApproval(null, request, { kind: 'escalation', mention: ['sre'], alsoTo: ['incidents'] });
    expect(slack.calls.map((call) => [call.method, call.body['channel'], call.body['thread_ts']])).toEqual([
      ['chat.postMessage', 'C0FINOPS', undefined],
      ['chat.postMessage', 'C0INCIDENTS', undefined],
    ]);
    expect(slack.calls[1]?.body['text']).toMatch(/^:rotating_light: Escalation <!subteam\^S0SRE>: throttle of cost-s1/);
  });
});

describe('war-rooms', () => {
  test('creates the channel under a Slack-safe name, invites the groups and named users, posts the run summary with who was not invited', async () => {
    // U0DAVE is unknown to the workspace: Slack invites the others (force) and names him in errors.
    const opened = await notifier.openWarRoom({
      name: 'INC 42: Cost spike on chat/acme!',
      invite: ['sre', 'product', 'U0DAVE', 'legal'],
      run,
    });
    expect(opened).toEqual({
      location: '#inc-42-cost-spike-on-chat-acme (C0WAR1)',
      statusMessage: { channel: 'C0WAR1', ts: slack.messages('C0WAR1')[1]!.ts },
    });
    expect(slack.calls.map(({ method, body }) => [method, body])).toEqual([
      ['conversations.create', { name: 'inc-42-cost-spike-on-chat-acme', is_private: 'false' }],
      ['usergroups.users.list', { usergroup: 'S0SRE' }],
      ['usergroups.users.list', { usergroup: 'S0PRODUCT' }],
      ['conversations.invite', { channel: 'C0WAR1', users: 'U0ALICE,U0BOB,U0CAROL,U0DAVE', force: 'true' }],
      [
        'chat.postMessage',
        {
          channel: 'C0WAR1',
          text: 'War-room for cost-s1 on route:chat/tenant:acme (S1)',
          blocks: [
            {
              type: 'section',
              text: {
                type: 'mrkdwn',
                text: [
                  ':rotating_light: War-room for *cost-s1* on `route:chat/tenant:acme` · S1',
                  'Run: `playbook/cost-s1/route:chat/tenant:acme`',
                  'Invited: sre (2 people), product (1 person), <@U0DAVE>',
                  'Not invited: legal (no slack.groups entry), <@U0DAVE> (user_not_found)',
                ].join('\n'),
              },
            },
            {
              type: 'context',
              elements: [
                { type: 'mrkdwn', text: '*cost-s1* on `route:chat/tenant:acme` · S1' },
                { type: 'mrkdwn', text: `<${runUrl}|the run>` },
              ],
            },
          ],
          unfurl_links: 'false',
        },
      ],
      // The live status, replaced as the run moves (updateWarRoomStatus).
      [
        'chat.postMessage',
        {
          channel: 'C0WAR1',
          text: 'Status of cost-s1 on route:chat/tenant:acme: starting',
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Status:* starting' } }],
          unfurl_links: 'false',
        },
      ],
    ]);
  });

  test("the live status message is replaced with the run's status", async () => {
    const { statusMessage } = await notifier.openWarRoom({ name: 'inc-45', invite: [], run });
    await notifier.updateWarRoomStatus(statusMessage, run, {
      state: 'awaiting-approval',
      currentStep: 'approve-throttle',
      changes: ['cap-context: route chat (tenant acme): maxInputTokens 32768 → 4096'],
      pendingApproval: 'approve-throttle: Throttle <!channel> acme',
      nextDeadline: null,
    });
    const update = slack.callsTo('chat.update').at(-1)!;
    expect(update.body).toMatchObject({ channel: statusMessage!.channel, ts: statusMessage!.ts });
    expect((update.body.blocks as Array<{ text: { text: string } }>)[0]!.text.text).toBe(
      [
        '*Status:* awaiting-approval · step `approve-throttle`',
        '*Waiting for approval:* approve-throttle: Throttle &lt;!channel&gt; acme',
        '*Changes in force:*\n• cap-context: route chat (tenant acme): maxInputTokens 32768 → 4096',
      ].join('\n'),
    );
  });

  test('an existing channel is found across pages, joined, and only the missing people are invited', async () => {
    for (let index = 0; index < 250; index += 1) slack.addChannel({ id: `C0FILL${index}`, name: `fill-${index}` });
    slack.addChannel({ id: 'C0WARROOM', name: 'inc-42', members: ['U0ALICE'], botIsMember: false });
    const opened = await notifier.openWarRoom({ name: 'inc-42', invite: ['sre'], run });
    expect(opened).toEqual({
      location: '#inc-42 (C0WARROOM)',
      statusMessage: { channel: 'C0WARROOM', ts: expect.any(String) as unknown },
    });
    expect(slack.calls.map(({ method, body }) => [method, body])).toEqual([
      ['conversations.create', { name: 'inc-42', is_private: 'false' }],
      ['conversations.list', { types: 'public_channel', exclude_archived: 'false', limit: '200' }],
      [
        'conversations.list',
        {
          types: 'public_channel',
          exclude_archived: 'false',
          limit: '200',
          cursor: Buffer.from('offset:200').toString('base64'),
        },
      ],
      ['conversations.join', { channel: 'C0WARROOM' }],
      ['usergroups.users.list', { usergroup: 'S0SRE' }],
      ['conversations.invite', { channel: 'C0WARROOM', users: 'U0ALICE,U0BOB', force: 'true' }],
      ['chat.postMessage', expect.objectContaining({ channel: 'C0WARROOM' })],
      [
        'chat.postMessage',
        expect.objectContaining({ channel: 'C0WARROOM', text: expect.stringMatching(/^Status of /) as unknown }),
      ],
    ]);
    expect(slack.members('C0WARROOM').sort()).toEqual(['U0ALICE', 'U0BOB', BOT_USER_ID]);
  });

  test('opening the same war-room again reuses it; everyone already there is not an error', async () => {
    await notifier.openWarRoom({ name: 'inc-43', invite: ['sre'], run });
    const again = await notifier.openWarRoom({ name: 'inc-43', invite: ['sre'], run });
    expect(again).toEqual({
      location: '#inc-43 (C0WAR1)',
      statusMessage: { channel: 'C0WAR1', ts: expect.any(String) as unknown },
    });
    expect(slack.channelNamed('inc-43')).toEqual({ id: 'C0WAR1', archived: false });
    // A summary and a status message each time.
    expect(slack.messages('C0WAR1')).toHaveLength(4);
    // The group's members were read once: the directory caches them.
    expect(slack.callsTo('usergroups.users.list')).toHaveLength(1);
  });

  test('an archived channel of that name is an error saying to unarchive it', async () => {
    slack.addChannel({ id: 'C0OLD', name: 'inc-44', archived: true });
    const error = await failure(notifier.openWarRoom({ name: 'inc-44', invite: [], run }));
    expect(error).toMatchObject({ retryable: false, slackError: 'is_archived' });
    expect(error.message).toBe(
      'slack: the war-room #inc-44 (C0OLD) exists but is archived: unarchive it in Slack, or start the war-room under another name',
    );
  });

  test('names are made Slack-safe: lowercase, [a-z0-9-_], at most 80 characters, no dangling separators', () => {
    expect(warRoomChannelName('War Room: GPU/us-east-1 ✨')).toBe('war-room-gpu-us-east-1');
    expect(warRoomChannelName('__a__')).toBe('a');
    expect(warRoomChannelName(`x${'-y'.repeat(60)}`)).toHaveLength(79);
    expect(() => warRoomChannelName('✨✨')).toThrow(
      'war-room name "✨✨" has no letters or digits to name a Slack channel with',
    );
  });
});

describe('failures a person can act on', () => {
  test('a bot that is not in the channel: names the method, the channel, the setting and the fix; not retryable', async () => {
    slack.addChannel({ id: 'C0QUIET', name: 'quiet', botIsMember: false });
    const quiet = new SlackNotifier(settingsFor(slack, { channels: { finops: 'C0QUIET' } }), silentLogger());
    const error = await failure(quiet.requestApproval(request));
    expect(error).toBeInstanceOf(SlackError);
    expect(error).toMatchObject({ method: 'chat.postMessage', slackError: 'not_in_channel', retryable: false });
    expect(error.message).toBe(
      'slack chat.postMessage (posting the approval request for throttle to slack.channels.finops (C0QUIET)) failed: not_in_channel: invite the bot to channel C0QUIET (slack.channels.finops): /invite @<the bot> in that channel',
    );
  });

  test('a channel that does not exist points at the setting', async () => {
    const lost = new SlackNotifier(settingsFor(slack, { defaultChannel: 'C0GONE' }), silentLogger());
    const error = await failure(lost.notify({ to: ['nobody'], message: 'x', run }));
    expect(error.message).toMatch(
      /failed: channel_not_found: check slack\.defaultChannel: C0GONE is not a channel the bot can see/,
    );
  });

  test('a wrong token says to check slack.token', async () => {
    const wrong = new SlackNotifier({ ...settings, token: 'xoxb-revoked' }, silentLogger());
    const error = await failure(wrong.notify({ to: ['finops'], message: 'x', run }));
    expect(error).toMatchObject({ slackError: 'invalid_auth', retryable: false });
    expect(error.message).toMatch(/invalid_auth: check slack\.token: it must be the bot token/);
    expect(slack.calls[0]?.token).toBe('xoxb-revoked');
  });

  test('a missing scope names the scope to add', async () => {
    slack.failNext('conversations.create', { error: 'missing_scope', needed: 'channels:manage' });
    const error = await failure(notifier.openWarRoom({ name: 'inc-45', invite: [], run }));
    expect(error.message).toBe(
      'slack conversations.create (opening the war-room #inc-45) failed: missing_scope: add the bot scope channels:manage under OAuth & Permissions and reinstall the app',
    );
  });

  test('an unknown user group points at slack.groups', async () => {
    const stale = new SlackNotifier(settingsFor(slack, { groups: { sre: 'S0DELETED' } }), silentLogger());
    const error = await failure(stale.openWarRoom({ name: 'inc-46', invite: ['sre'], run }));
    expect(error.message).toMatch(
      /no_such_subteam: check slack\.groups\.sre: S0DELETED is not a user group of this workspace$/,
    );
  });

  test('a settled message that was deleted says so', async () => {
    const error = await failure(
      notifier.settleApproval({ channel: 'C0FINOPS', ts: '1.000100' }, request, {
        outcome: 'moot: the alert resolved',
        decisions: [],
      }),
    );
    expect(error).toMatchObject({ method: 'chat.update', slackError: 'message_not_found', retryable: false });
  });

  test('a short rate limit is waited out and the call retried', async () => {
    slack.failNext('chat.postMessage', { status: 429, retryAfterSeconds: 0 });
    const ref = await notifier.requestApproval(request);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(2);
    expect(slack.callsTo('chat.postMessage')[1]?.body).toEqual(slack.callsTo('chat.postMessage')[0]?.body);
    expect(slack.messages('C0FINOPS').map((message) => message.ts)).toEqual([ref!.ts]);
  });

  test('a long rate limit is handed back at once as retryable, with how long Slack asks to wait', async () => {
    slack.failNext('chat.postMessage', { status: 429, retryAfterSeconds: 30 });
    const error = await failure(notifier.notify({ to: ['finops'], message: 'x', run }));
    expect(error).toMatchObject({ retryable: true, slackError: 'ratelimited', retryAfterMs: 30_000 });
    expect(error.message).toBe(
      'slack chat.postMessage (posting a notification to slack.channels.finops (C0FINOPS)) failed: rate limited, Slack asks to wait 30 s',
    );
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
  });

  test('a 5xx is retried by the client; when it persists it is a retryable SlackError after three attempts', async () => {
    slack.failNext('chat.postMessage', { status: 503 });
    await notifier.notify({ to: ['finops'], message: 'x', run });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(2);

    [1, 2, 3].forEach(() => slack.failNext('chat.update', { status: 502 }));
    const error = await failure(
      notifier.settleApproval({ channel: 'C0FINOPS', ts: '1.000100' }, request, {
        outcome: 'moot: the alert resolved',
        decisions: [],
      }),
    );
    expect(error).toMatchObject({ method: 'chat.update', retryable: true });
    expect(error.message).toMatch(/failed: HTTP 502 Bad Gateway: Slack is having trouble; the call is retried$/);
    expect(slack.callsTo('chat.update')).toHaveLength(3);
  });

  test("Slack's own transient errors in an ok:false answer are retryable", async () => {
    slack.failNext('chat.postMessage', { error: 'internal_error' });
    expect(await failure(notifier.notify({ to: ['finops'], message: 'x', run }))).toMatchObject({
      slackError: 'internal_error',
      retryable: true,
    });
  });

  test('an unreachable API is retryable and says to check slack.apiUrl', async () => {
    const nowhere = new SlackNotifier(
      { ...settings, apiUrl: `http://127.0.0.1:${await freePort()}/api/` },
      silentLogger(),
    );
    const error = await failure(nowhere.notify({ to: ['finops'], message: 'x', run }));
    expect(error).toMatchObject({ retryable: true, slackError: undefined });
    expect(error.message).toMatch(
      /^slack chat\.postMessage \(posting a notification to slack\.channels\.finops \(C0FINOPS\)\) failed: .*\(Slack unreachable or too slow; check slack\.apiUrl and the network\)$/,
    );
  });
});

describe('directory', () => {
  test('group members by notify name or ID, cached for the TTL, then read again', async () => {
    let now = 1_000;
    const directory = new SlackDirectory(new SlackApi(settings, silentLogger()), settings.groups, {
      ttlMs: 60_000,
      now: () => now,
    });
    expect(await directory.membersOf('sre')).toEqual(['U0ALICE', 'U0BOB']);
    expect(await directory.membersOf('S0SRE')).toEqual(['U0ALICE', 'U0BOB']);
    expect(slack.callsTo('usergroups.users.list')).toHaveLength(1);
    slack.addUserGroup('S0SRE', ['U0ALICE', 'U0BOB', 'U0ERIN']);
    now += 60_001;
    expect(await directory.membersOf('sre')).toEqual(['U0ALICE', 'U0BOB', 'U0ERIN']);
    expect(slack.callsTo('usergroups.users.list')).toHaveLength(2);
  });

  test('a name that is neither a configured group nor a group ID is refused without calling Slack', async () => {
    const error = await failure(notifier.directory.membersOf('legal'));
    expect(error.message).toBe(
      'slack: "legal" is neither a slack.groups name (sre, product) nor a user group ID (S…): add slack.groups.legal: S…',
    );
    expect(slack.calls).toEqual([]);
  });
});

test('the request timeout bounds a Slack that does not answer', async () => {
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = silent.address() as AddressInfo;
    const slow = new SlackNotifier(
      { ...settings, apiUrl: `http://127.0.0.1:${port}/api/`, timeout: 200 },
      silentLogger(),
    );
    const error = await failure(slow.notify({ to: ['finops'], message: 'x', run }));
    expect(error).toMatchObject({ retryable: true });
    expect(error.message).toMatch(/failed: no answer within 200 ms \(slack\.timeout\) \(Slack unreachable or too slow/);
  } finally {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  }
});
