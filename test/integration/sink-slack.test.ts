// Alert text in Slack, through the notifier and the real @slack/web-api client against the wire-level Slack server
// (test/helpers/slack-api-server.ts), asserting what reaches the wire. What it proves, for every message a run
// sends (notifications, approval requests and their pointers, outcomes, reminders, escalations, war-rooms and their
// status) with label and annotation text that is hostile (Slack's markup <!channel>, <!here>, <@U…>, <#C…>,
// <!subteam^…>, <http://…|…>, entities, controls, unicode, very long):
// - no < or > from that text reaches Slack: every <…> on the wire is markup of ours (a link to the run, the alert
//   or the request, a date, a configured group, a user id Slack gave us), in the top-level text and every mrkdwn
//   object;
// - text Slack would parse on its own (@here, #channel, a URL) goes in verbatim text objects;
// - every block stays within Block Kit's limits (header 150, section 3000, field and context 2000, button text 75
//   and value 2000), cut visibly, and the call succeeds; what a person reads is the alert's text (or its start);
// 1,000 cases, plus regressions (the war-room's fallback text, a run id too long for a button).
import fc from 'fast-check';
import type { ApprovalRequest, RunReference } from '../../notify/notifier';
import { SlackNotifier } from '../../notify/slack/slack-notifier';
import { slackSettingsSchema } from '../../notify/slack/slack-settings';
import { silentLogger } from '../helpers/simulator';
import {
  SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET,
  startSlackApiServer,
  type SlackApiServer,
} from '../helpers/slack-api-server';

const RUN_URLS = 'http://127.0.0.1:8233/namespaces/default/workflows/';
const ALERT_URL = 'http://alertmanager.test/#/alerts?filter={alertname="CostHigh"}';

let slack: SlackApiServer;
let notifier: SlackNotifier;

beforeAll(async () => {
  slack = await startSlackApiServer();
  slack.addChannel({ id: 'C0FINOPS', name: 'finops' });
  slack.addChannel({ id: 'C0INCIDENTS', name: 'incidents' });
  slack.addChannel({ id: 'C0ALERTS', name: 'alerts' });
  slack.addUserGroup('S0SRE', ['U0ALICE', 'U0BOB']);
  const settings = slackSettingsSchema.parse({
    token: SLACK_BOT_TOKEN,
    signingSecret: SLACK_SIGNING_SECRET,
    apiUrl: slack.apiUrl,
    channels: { finops: 'C0FINOPS', incidents: 'C0INCIDENTS' },
    groups: { sre: 'S0SRE' },
    defaultChannel: 'C0ALERTS',
    timeout: '5s',
  });
  notifier = new SlackNotifier(settings, silentLogger(), {
    runUrl: (run) => `${RUN_URLS}${encodeURIComponent(run.workflowId)}`,
  });
});
afterAll(() => slack.close());

// Markup of ours, the only <…> allowed on the wire.
const OUR_MARKUP = [
  /^<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>|]*>$/,
  /^<http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/[^<>|\s]*\|the run( in Temporal)?>$/,
  /^<http:\/\/alertmanager\.test\/[^<>|\s]*\|the alert>$/,
  /^<https:\/\/finops-test\.slack\.com\/archives\/C[A-Z0-9]+\/p\d+\|The approval request>$/,
  /^<!subteam\^S0SRE>$/,
  /^<@U0(ALICE|DAVE)>$/,
];
/**
 * Deciders the test made whose text is a Slack user id (fast-check draws one now and then, e.g. `WMOOV`): a decider
 * is named by a mention of its id (slack-messages.ts person()), ours too. Alert text never is.
 */
const DECIDER_MENTIONS = new Set<string>();
const AUTOMATICALLY_PARSED = /@(here|channel|everyone)|#[\p{L}\p{N}_-]|:\/\/|www\.|mailto:/iu;

/** The text with our markup taken out; fails on any other <…>, or a < or > left over. */
function withoutOurMarkup(text: string, where: string): string {
  const tokens = text.match(/<[^<>]*>/g) ?? [];
  for (const token of tokens) {
    if (!OUR_MARKUP.some((markup) => markup.test(token)) && !DECIDER_MENTIONS.has(token))
      throw new Error(`${where}: foreign markup ${token}`);
  }
  const rest = text.replace(/<[^<>]*>/g, '');
  if (/[<>]/.test(rest)) throw new Error(`${where}: a bare < or > reaches Slack in ${JSON.stringify(text)}`);
  return rest;
}

type TextObject = { type: string; text: string; verbatim?: boolean };
function checkTextObject(object: TextObject, limit: number, where: string): void {
  expect(object.text.length).toBeLessThanOrEqual(limit);
  expect(object.text.length).toBeGreaterThan(0);
  if (object.type !== 'mrkdwn') return;
  const plain = withoutOurMarkup(object.text, where);
  if (AUTOMATICALLY_PARSED.test(plain)) expect(object.verbatim).toBe(true);
}

/** Every message call's body on the wire, checked; answers the section texts. */
function checkWire(): string[] {
  const sections: string[] = [];
  const calls = slack.calls.filter(({ method }) => method === 'chat.postMessage' || method === 'chat.update');
  expect(calls.length).toBeGreaterThan(0);
  for (const { method, body } of calls) {
    const text = body['text'] as string;
    expect(text.length).toBeLessThanOrEqual(40_000);
    withoutOurMarkup(text, `${method} text`);
    for (const block of (body['blocks'] ?? []) as Array<Record<string, unknown>>) {
      const where = `${method} ${String(block['type'])} block`;
      if (block['type'] === 'header') {
        expect((block['text'] as TextObject).type).toBe('plain_text');
        checkTextObject(block['text'] as TextObject, 150, where);
      }
      if (block['type'] === 'section') {
        if (block['text']) {
          checkTextObject(block['text'] as TextObject, 3_000, where);
          sections.push((block['text'] as TextObject).text);
        }
        for (const field of (block['fields'] ?? []) as TextObject[]) checkTextObject(field, 2_000, where);
      }
      if (block['type'] === 'context')
        for (const element of block['elements'] as TextObject[]) checkTextObject(element, 2_000, where);
      if (block['type'] === 'actions')
        for (const button of block['elements'] as Array<{ text: TextObject; value: string }>) {
          checkTextObject(button.text, 75, where);
          expect(button.value.length).toBeLessThanOrEqual(2_000);
        }
    }
  }
  return sections;
}

// What a person reads: Slack's three entities decoded, written here independently of slack-messages.ts.
const shown = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const SLACK_MARKUP = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<@U0ALICE>',
  '<#C0FINOPS>',
  '<!subteam^S0SRE|@sre>',
  '<http://evil.example|click>',
  '<mailto:a@evil.example|mail>',
  '@here',
  '@channel',
  '#finops',
  'https://evil.example',
  '&lt;!channel&gt;',
  '&amp;',
  '&',
  '<',
  '>',
  '|',
  '`',
  '*',
  '\n',
];
const hostile = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...SLACK_MARKUP), fc.string({ maxLength: 8 })), { maxLength: 8 })
      .map((parts) => parts.join('')),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.constantFrom('<', '>', '&', '!', '@', '#', '|', '^', 'a', '\u0000', '\u202e', '😀'),
      maxLength: 60,
    }),
  },
  // Past every limit: Block Kit's 3000, and 1100 characters that escape to 4400.
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 3_000, maxLength: 3_200 }) },
  { weight: 1, arbitrary: fc.constantFrom('<'.repeat(1_100), '&'.repeat(3_001), '😀'.repeat(1_600)) },
);
const textOf = (value: string) => (value === '' ? 'x' : value);

const OPERATIONS = ['notify', 'approval', 'settle', 'escalation', 'warRoom', 'status'] as const;

test('no text from an alert becomes a mention or a link in anything sent to Slack, and every block fits', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        operation: fc.constantFrom(...OPERATIONS),
        target: hostile,
        message: hostile,
        summary: hostile,
        reason: hostile,
        stepId: hostile,
        other: hostile,
      }),
      async ({ operation, target, message, summary, reason, stepId, other }) => {
        slack.calls.length = 0;
        const run: RunReference = {
          // Whole code points: the ingress refuses a lone surrogate.
          workflowId: [...`playbook/cost-s1/${target}`].slice(0, 900).join(''),
          playbook: 'cost-s1',
          target,
          severity: 'S1',
        };
        const request: ApprovalRequest = {
          run,
          stepId: textOf(stepId),
          summary: textOf(summary),
          reason: textOf(reason),
          costImpact: other,
          deadline: '2026-12-02T03:00:00.000Z',
          approvalsNeeded: 2,
          to: ['finops', 'incidents'],
          links: { alert: ALERT_URL, run: `${RUN_URLS}${encodeURIComponent(run.workflowId)}` },
        };
        switch (operation) {
          case 'notify': {
            await notifier.notify({ to: ['finops'], message, run });
            const [section] = checkWire();
            const read = shown(section!);
            // What a person reads is the message, or its start and an ellipsis (an empty one says so).
            const expected = message === '' ? '(empty)' : message;
            if (read.endsWith('…') && read !== expected) expect(expected.startsWith(read.slice(0, -1))).toBe(true);
            else expect(read).toBe(expected);
            return;
          }
          case 'approval':
            await notifier.requestApproval(request);
            break;
          case 'settle': {
            const ref = await notifier.requestApproval(request);
            const decider = other.slice(0, 256) || 'someone';
            if (/^[UW][A-Z0-9]{2,}$/.test(decider)) DECIDER_MENTIONS.add(`<@${decider}>`);
            await notifier.settleApproval(ref, request, {
              outcome: 'rejected',
              decisions: [
                { by: 'U0ALICE', approve: true, at: '2026-12-02T02:00:00.000Z' },
                {
                  by: decider,
                  approve: false,
                  at: '2026-12-02T02:01:00.000Z',
                  reason: message,
                },
              ],
            });
            break;
          }
          case 'escalation':
            await notifier.nudgeApproval(null, request, {
              kind: 'escalation',
              mention: ['sre'],
              alsoTo: ['incidents'],
            });
            break;
          case 'warRoom':
            await notifier.openWarRoom({ name: `inc-${target}`, invite: ['sre', 'U0DAVE'], run });
            break;
          case 'status': {
            const ref = await notifier.requestApproval(request);
            await notifier.updateWarRoomStatus(ref, run, {
              state: textOf(message),
              currentStep: stepId,
              changes: [summary, other],
              pendingApproval: reason,
              nextDeadline: '2026-12-02T03:00:00.000Z',
              savings: other,
            });
            break;
          }
        }
        checkWire();
      },
    ),
    { numRuns: 1_000 },
  );
});

describe('regressions', () => {
  beforeEach(() => {
    slack.calls.length = 0;
  });
  const run = (target: string): RunReference => ({
    workflowId: `playbook/war-room/${target}`,
    playbook: 'war-room',
    target,
    severity: 'S2',
  });

  test("a war-room's fallback text escapes the target: route=<!channel> mentions nobody", async () => {
    await notifier.openWarRoom({ name: 'inc-channel', invite: [], run: run('route=<!channel>') });
    expect(slack.callsTo('chat.postMessage').map(({ body }) => body['text'])).toContain(
      'War-room for war-room on route=&lt;!channel&gt; (S2)',
    );
  });

  test('text Slack would link or mention on its own goes verbatim: @here and a URL stay text', async () => {
    await notifier.notify({ to: ['finops'], message: '@here see https://evil.example', run: run('route=chat') });
    const { body } = slack.callsTo('chat.postMessage')[0] as unknown as {
      body: { blocks: Array<{ text?: TextObject }> };
    };
    expect(body.blocks[0]!.text).toEqual({ type: 'mrkdwn', text: '@here see https://evil.example', verbatim: true });
  });

  test('a run id too long for a button still asks, without buttons, saying how to decide', async () => {
    const target = `route=${'\u0001'.repeat(400)}`;
    await notifier.requestApproval({
      run: run(target),
      stepId: 'throttle',
      summary: 'Throttle',
      reason: 'CostHigh',
      costImpact: null,
      deadline: '2026-12-02T03:00:00.000Z',
      approvalsNeeded: 1,
      to: ['finops'],
      links: { alert: null, run: `${RUN_URLS}x` },
    });
    const { body } = slack.callsTo('chat.postMessage')[0] as unknown as {
      body: { blocks: Array<Record<string, unknown>> };
    };
    expect(body.blocks.some((block) => block['type'] === 'actions')).toBe(false);
    expect(JSON.stringify(body.blocks)).toContain("too long for Slack's buttons; decide with `finops-soar approve");
  });

  test('an alert link that is not a web address is left out', async () => {
    await notifier.requestApproval({
      run: run('route=chat'),
      stepId: 'throttle',
      summary: 'Throttle',
      reason: 'CostHigh',
      costImpact: null,
      deadline: '2026-12-02T03:00:00.000Z',
      approvalsNeeded: 1,
      to: ['finops'],
      links: { alert: 'javascript:alert(1)', run: `${RUN_URLS}x` },
    });
    expect(JSON.stringify(slack.callsTo('chat.postMessage')[0]!.body)).not.toContain('javascript:');
  });
});
