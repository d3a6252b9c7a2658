// The Slack messages a run posts, as Block Kit: pure functions of the request, so tests can read them.
// Text from alerts is escaped (Slack treats <, > and & as markup) and cut to Block Kit's field limits; a mrkdwn
// text object holding what Slack would parse on its own (a #channel name, a bare URL) is verbatim, so it stays text.
import type { ChatPostMessageArguments } from '@slack/web-api';
import type {
  ApprovalDecisionRecord,
  ApprovalNudge,
  ApprovalOutcome,
  ApprovalRequest,
  Notification,
  ReportPost,
  RunReference,
  WarRoomStatus,
} from '../notifier';
import { APPROVE_ACTION_ID, approvalButtonValueOrNull, REJECT_ACTION_ID } from './approval-button';

export type SlackBlock = Extract<ChatPostMessageArguments, { blocks: unknown[] }>['blocks'][number];

export interface SlackMessage {
  /** The notification and screen-reader text; Slack shows the blocks. */
  text: string;
  blocks: SlackBlock[];
}

// Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks): Slack refuses a message over them, so
// longer text is cut, visibly, rather than failing the notification.
export const HEADER_LIMIT = 150;
const SECTION_LIMIT = 3_000;
export const FIELD_LIMIT = 2_000;
/** Alert text quoted inside a line of ours (a summary in a pointer or a reminder, a target). */
const QUOTE_LIMIT = 1_000;

/**
 * Text for mrkdwn and a message's top-level text: Slack reads &, < and > as its control characters (<!channel>,
 * <!here>, <@U…>, <#C…>, <!subteam^…>, <http://…|label>) and asks that they be sent as &amp;, &lt; and &gt;
 * otherwise (https://docs.slack.dev/messaging/formatting-message-text#escaping). With all three escaped, text from
 * an alert can never open a mention or a link.
 */
export const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// The start of an entity escapeText wrote, cut before its end: Slack would show it as is.
const PARTIAL_ENTITY = /&(?:a|am|amp|l|lt|g|gt)?$/;

/** At most `limit` UTF-16 units, ending in … when cut; never through a surrogate pair or an escaped character. */
export function cut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit - 1;
  if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end -= 1;
  end -= PARTIAL_ENTITY.exec(text.slice(Math.max(0, end - 4), end))?.[0].length ?? 0;
  return `${text.slice(0, end)}…`;
}

/** Alert text, escaped and cut to `limit`: what goes inside a line of ours. */
export const quote = (text: string, limit = QUOTE_LIMIT) => cut(escapeText(text), limit);

// The longest address linked: a link is never cut (half a link is markup Slack shows raw), and it fits a context
// element (FIELD_LIMIT) with its label. A run's address holds its id, which a long label makes long.
const MAX_LINK_URL = 1_900;

/** A link Slack renders, with the characters that would end it percent-encoded; the label alone if too long. */
export const link = (url: string, label: string) =>
  url.length > MAX_LINK_URL
    ? `${escapeText(label)} (its address is too long to link)`
    : `<${url.replace(/\|/g, '%7C').replace(/>/g, '%3E').replace(/</g, '%3C')}|${escapeText(label)}>`;

/** A time every reader sees in their own time zone; the ISO text where Slack cannot render it. */
export function slackTime(iso: string): string {
  const millis = Date.parse(iso);
  if (Number.isNaN(millis)) return escapeText(iso);
  return `<!date^${Math.floor(millis / 1_000)}^{date_short_pretty} {time}|${escapeText(iso)}>`;
}

/** A Slack user mention for a Slack user ID; other identities (CLI, HTTP API) as plain text. */
export const person = (by: string) => (/^[UW][A-Z0-9]{2,}$/.test(by) ? `<@${by}>` : quote(by, 256));

export const groupMention = (userGroupId: string) => `<!subteam^${userGroupId}>`;

const joinAnd = (items: string[]) =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;

// What Slack's automatic parsing may turn into a mention or a link when a text object is not verbatim: @here,
// @channel, @everyone, #channel names and URLs (https://docs.slack.dev/reference/block-kit/composition-objects/text-object).
const AUTOMATICALLY_PARSED = /@(?:here|channel|everyone)|#[\p{L}\p{N}_-]|:\/\/|www\.|mailto:/iu;

/**
 * A mrkdwn text object, verbatim when its plain text (outside our own <…> markup: escaped text has no <) holds
 * something Slack would parse on its own, so an alert's "@here" or "evil.example" stays text. Slack still reads our
 * own markup in a verbatim object.
 */
export function markdown(text: string, limit = SECTION_LIMIT) {
  // Slack refuses an empty text object, and an alert's annotation may be empty.
  const shown = cut(text, limit) || '(empty)';
  const plain = shown.replace(/<[^<>]*>/g, '');
  return AUTOMATICALLY_PARSED.test(plain)
    ? { type: 'mrkdwn' as const, text: shown, verbatim: true }
    : { type: 'mrkdwn' as const, text: shown };
}

export const section = (text: string): SlackBlock => ({ type: 'section', text: markdown(text) });

const runLine = (run: RunReference) => `*${quote(run.playbook)}* on \`${quote(run.target)}\` · ${quote(run.severity)}`;

function runContext(run: RunReference, runUrl: string | null): SlackBlock {
  const elements = [markdown(runLine(run), FIELD_LIMIT)];
  if (runUrl !== null) elements.push(markdown(link(runUrl, 'the run'), FIELD_LIMIT));
  return { type: 'context', elements };
}

/**
 * A scheduled review's digest (reviews/): a header, the summary, one section per part of the review with its lines as
 * bullets, and where the whole report is kept. Its lines hold tenant and route names from metric labels: plain text,
 * escaped. At most 1 + 1 + 45 + 1 blocks, under Block Kit's 50.
 */
export function reportMessage({ title, summary, sections, files }: ReportPost): SlackMessage {
  const parts = sections
    .slice(0, 45)
    .map(({ title: heading, lines }) =>
      section([`*${escapeText(heading)}*`, ...lines.map((line) => `• ${escapeText(line)}`)].join('\n')),
    );
  return {
    text: cut(escapeText(`${title}: ${summary}`), SECTION_LIMIT),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(title, HEADER_LIMIT) } },
      section(escapeText(summary)),
      ...parts,
      {
        type: 'context',
        elements: [
          markdown(`The full report: ${files.map((file) => `\`${escapeText(file)}\``).join(', ')}`, FIELD_LIMIT),
        ],
      },
    ],
  };
}

export function notificationMessage({ message, run }: Notification, runUrl: string | null): SlackMessage {
  return {
    // The fallback text is mrkdwn too: escaped, so alert text cannot mention @channel.
    text: cut(escapeText(`${run.playbook} on ${run.target}: ${message}`), SECTION_LIMIT),
    blocks: [section(escapeText(message)), runContext(run, runUrl)],
  };
}

const approvalsNeededText = (needed: number) => (needed === 1 ? '1' : `${needed} distinct people`);

function lastDecision(decisions: ApprovalDecisionRecord[], approve: boolean): ApprovalDecisionRecord | undefined {
  return decisions.filter((decision) => decision.approve === approve).at(-1);
}

/** The line that replaces the buttons once the step is decided: who, when, what. */
export function outcomeLine({ outcome, decisions }: ApprovalOutcome, deadline: string): string {
  const approvers = decisions.filter((decision) => decision.approve);
  const byApprovers = joinAnd(approvers.map((decision) => person(decision.by)));
  switch (outcome) {
    case 'approved': {
      const last = lastDecision(decisions, true);
      return `:white_check_mark: *Approved* by ${byApprovers || 'nobody recorded'}${last ? ` at ${slackTime(last.at)}` : ''}`;
    }
    case 'rejected': {
      const rejection = lastDecision(decisions, false);
      if (!rejection) return ':no_entry: *Rejected*';
      const reason = rejection.reason ? `: ${escapeText(rejection.reason)}` : '';
      return `:no_entry: *Rejected* by ${person(rejection.by)} at ${slackTime(rejection.at)}${reason}`;
    }
    case 'timed out: approved':
    case 'timed out: rejected': {
      const result = outcome === 'timed out: approved' ? 'approved' : 'rejected';
      const partial = byApprovers ? ` (approved before by ${byApprovers}, not enough)` : '';
      return `:hourglass: *Timed out: ${result}* at ${slackTime(deadline)}, the step's declared outcome${partial}`;
    }
    case 'moot: the alert resolved':
      return ':large_green_circle: *Moot: the alert resolved* before a decision';
  }
}

const OUTCOME_HEADINGS: Record<ApprovalOutcome['outcome'], string> = {
  approved: 'Approved',
  rejected: 'Rejected',
  'timed out: approved': 'Timed out, approved',
  'timed out: rejected': 'Timed out, rejected',
  'moot: the alert resolved': 'Moot, the alert resolved',
};

export function approvalMessage(request: ApprovalRequest, outcome?: ApprovalOutcome): SlackMessage {
  const { run, stepId, summary, reason, costImpact, deadline, approvalsNeeded, links } = request;
  const fields = [
    `*Target*\n\`${escapeText(run.target)}\``,
    `*Severity*\n${escapeText(run.severity)}`,
    `*Playbook · step*\n${escapeText(run.playbook)} · ${escapeText(stepId)}`,
    ...(costImpact === null ? [] : [`*Estimated cost impact*\n${escapeText(costImpact)}`]),
    `*Decide by*\n${slackTime(deadline)}`,
    `*Approvals needed*\n${approvalsNeededText(approvalsNeeded)}`,
  ].map((text) => markdown(text, FIELD_LIMIT));
  const linkList = [
    // The alert's link comes from the payload: only a web address becomes a link.
    ...(links.alert === null || !/^https?:\/\//i.test(links.alert) ? [] : [link(links.alert, 'the alert')]),
    link(links.run, 'the run in Temporal'),
  ];
  const linkLine = linkList.join(' · ');
  // One line of links, or one element each where together they would be cut.
  const linkElements = (linkLine.length <= FIELD_LIMIT ? [linkLine] : linkList).map((text) =>
    markdown(text, FIELD_LIMIT),
  );
  const heading = outcome ? OUTCOME_HEADINGS[outcome.outcome] : 'Approval needed';
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${heading}: ${summary}`, HEADER_LIMIT) } },
    section(`*What will change*\n${escapeText(summary)}`),
    section(`*Why*\n${escapeText(reason)}`),
    { type: 'section', fields },
    { type: 'context', elements: linkElements },
  ];
  const value = approvalButtonValueOrNull({ workflowId: run.workflowId, stepId });
  if (outcome) {
    blocks.push(section(outcomeLine(outcome, deadline)));
  } else if (value === null) {
    // The run id is too long for a button's value: the request still goes out, decided by the CLI.
    blocks.push(
      section(
        `:warning: This run's id is too long for Slack's buttons; decide with \`finops-soar approve ${escapeText(run.workflowId)} ${escapeText(stepId)}\` (or reject)`,
      ),
    );
  } else {
    blocks.push({
      type: 'actions',
      block_id: 'approval',
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION_ID,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value,
        },
        {
          type: 'button',
          action_id: REJECT_ACTION_ID,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value,
        },
      ],
    });
  }
  const text = outcome
    ? `${stepId} of ${run.playbook} on ${run.target}: ${outcome.outcome}`
    : `Approval needed for ${stepId} of ${run.playbook} on ${run.target}: ${summary}`;
  return { text: cut(escapeText(text), SECTION_LIMIT), blocks };
}

/** "<the request> for <step> of <playbook> on <target> waits for a decision until <deadline>." */
function waitingText({ run, stepId, deadline, approvalsNeeded }: ApprovalRequest, permalink: string | null): string {
  const what = `${quote(stepId)} of ${quote(run.playbook)} on \`${quote(run.target)}\``;
  const where = permalink === null ? what : `${link(permalink, 'The approval request')} for ${what}`;
  const needs = approvalsNeeded > 1 ? ` (${approvalsNeeded} distinct approvers)` : '';
  return `${where} waits for a decision${needs} until ${slackTime(deadline)}.`;
}

/** A reminder or an escalation; `mentions` are already rendered (<!subteam^…> or @name). */
export function nudgeText(
  request: ApprovalRequest,
  { kind }: ApprovalNudge,
  mentions: string[],
  permalink: string | null,
): string {
  const waits = waitingText(request, permalink);
  if (kind === 'reminder') return `:bell: Reminder: ${waits}`;
  return `:rotating_light: Escalation${mentions.length > 0 ? ` ${mentions.join(' ')}` : ''}: ${waits}`;
}

/** What the other channels an approval request is for see: a link to the one message that has the buttons. */
export function approvalPointerText(request: ApprovalRequest, permalink: string | null): string {
  return `:raising_hand: *${quote(request.summary)}*\n${waitingText(request, permalink)}`;
}

/** The war-room's live status: replaced in place as the run moves. */
export function warRoomStatusMessage(run: RunReference, status: WarRoomStatus | null): SlackMessage {
  const lines = status
    ? [
        // Each part bounded, so a long one cannot push the deadline's markup past the section's limit.
        `*Status:* ${quote(status.state)}${status.currentStep ? ` · step \`${quote(status.currentStep)}\`` : ''}`,
        ...(status.pendingApproval ? [`*Waiting for approval:* ${quote(status.pendingApproval)}`] : []),
        ...(status.nextDeadline ? [`*Next deadline:* ${slackTime(status.nextDeadline)}`] : []),
        ...(status.savings ? [`*Savings:* ${quote(status.savings)}`] : []),
        status.changes.length > 0
          ? `*Changes in force:*\n${status.changes.map((change) => `• ${quote(change)}`).join('\n')}`
          : '*Changes in force:* none',
      ]
    : ['*Status:* starting'];
  return {
    text: cut(escapeText(`Status of ${run.playbook} on ${run.target}: ${status?.state ?? 'starting'}`), SECTION_LIMIT),
    blocks: [section(lines.join('\n'))],
  };
}

/** A war-room's first message: the run, who was invited, who was not and why (both already rendered). */
export function warRoomMessage(
  run: RunReference,
  runUrl: string | null,
  invited: string[],
  notInvited: string[],
): SlackMessage {
  const lines = [`:rotating_light: War-room for ${runLine(run)}`, `Run: \`${quote(run.workflowId)}\``];
  if (invited.length > 0) lines.push(`Invited: ${invited.join(', ')}`);
  if (notInvited.length > 0) lines.push(`Not invited: ${notInvited.join(', ')}`);
  return {
    // Escaped like every top-level text: it is mrkdwn too, and the target is the alert's labels.
    text: cut(escapeText(`War-room for ${run.playbook} on ${run.target} (${run.severity})`), SECTION_LIMIT),
    blocks: [section(lines.join('\n')), runContext(run, runUrl)],
  };
}
