// A CAPA in Slack: the message (what happened, what the engine did and saved, what people filled in, with Fill in and
// Close buttons while it is open), the reminder in its thread, and the modal the Fill in button opens. Pure, so tests
// read them; the buttons and the modal carry the CAPA's id, which the interactivity endpoint reads back.
import type { CapaNotice } from '../notifier';
import {
  CAPA_FIELDS,
  capaTitle,
  missingForClose,
  type CapaFields,
  type CapaStatus,
} from '../../workflows/capa/definitions';
import { cut, escapeText, HEADER_LIMIT, link, markdown, person, quote, section, slackTime } from './slack-messages';
import type { SlackBlock, SlackMessage } from './slack-messages';

export const CAPA_FILL_ACTION_ID = 'capa_fill';
export const CAPA_CLOSE_ACTION_ID = 'capa_close';
/** The modal's callback_id; its private_metadata is the CAPA's id. */
export const CAPA_MODAL_CALLBACK_ID = 'capa_fill_modal';
/** Slack allows 2,000 characters in a button's value and 3,000 in a modal's private_metadata. */
export const MAX_CAPA_ID_IN_SLACK = 2_000;

export const FIELD_LABELS: Record<keyof CapaFields, string> = {
  rootCause: 'Root cause',
  correctiveAction: 'Corrective action',
  preventiveAction: 'Preventive action',
  owner: 'Owner',
  dueDate: 'Due date',
};

const usd = (value: number) => `$${value.toLocaleString('en-US', { maximumFractionDigits: 2 })}`;

function fieldText(name: keyof CapaFields, value: string | undefined): string {
  if (!value) return '_not yet_';
  if (name === 'owner') return person(value);
  return quote(value);
}

function outcomeLines({ status }: CapaNotice): string {
  const { outcome } = status;
  if (!outcome) return '_The run is still going: its changes and savings come when it ends._';
  const changes = outcome.changes.map(({ summary }) => `• ${quote(summary)}`).join('\n') || '• no change made';
  const cost =
    outcome.costBeforeUsdPerHour === null
      ? ''
      : `\nCost before the first change ${usd(outcome.costBeforeUsdPerHour)}/h${
          outcome.costAfterUsdPerHour === null ? '' : `, after ${usd(outcome.costAfterUsdPerHour)}/h`
        }.`;
  const saved = outcome.savedUsd === null ? '' : ` Saved ${usd(outcome.savedUsd)} while the changes were in force.`;
  const escalated = outcome.escalatedTo ? ` Escalated to ${quote(outcome.escalatedTo)}.` : '';
  return `${changes}${cost}\nThe run ended ${quote(outcome.state)}.${saved}${escalated}`;
}

export function capaMessage(notice: CapaNotice): SlackMessage {
  const { status, links } = notice;
  const { opening, fields, closed } = status;
  const title = capaTitle(opening);
  const heading = closed ? `CAPA closed: ${title}` : `CAPA: ${title}`;
  const what = [
    `*What happened*\n${quote(opening.alert.name)} since ${slackTime(opening.alert.startsAt)}`,
    opening.alert.summary ? `: ${quote(opening.alert.summary)}` : '',
  ].join('');
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(heading, HEADER_LIMIT) } },
    section(what),
    section(`*What the engine did*\n${outcomeLines(notice)}`),
    {
      type: 'section',
      fields: CAPA_FIELDS.map((name) => markdown(`*${FIELD_LABELS[name]}*\n${fieldText(name, fields[name])}`, 1_000)),
    },
    {
      type: 'context',
      elements: [markdown(`${link(links.capa, 'the CAPA')} · ${link(links.run, 'the run')} in Temporal`, 2_000)],
    },
  ];
  if (closed) {
    const note = closed.note ? `: ${quote(closed.note)}` : '';
    blocks.push(section(`Closed by ${person(closed.by)} ${slackTime(closed.at)}${note}`));
  } else if (status.capaId.length <= MAX_CAPA_ID_IN_SLACK) {
    blocks.push({
      type: 'actions',
      block_id: 'capa',
      elements: [
        {
          type: 'button',
          action_id: CAPA_FILL_ACTION_ID,
          style: 'primary',
          text: { type: 'plain_text', text: 'Fill in' },
          value: status.capaId,
        },
        {
          type: 'button',
          action_id: CAPA_CLOSE_ACTION_ID,
          text: { type: 'plain_text', text: 'Close' },
          value: status.capaId,
        },
      ],
    });
  } else {
    blocks.push(section(`Fill it in with \`finops-soar capa fill ${escapeText(status.capaId)} …\``));
  }
  const text = closed ? `CAPA closed: ${title}` : `CAPA opened: ${title}`;
  return { text: cut(escapeText(text), 3_000), blocks };
}

export function capaReminderText({ status }: CapaNotice, overdue: boolean, mention: string): string {
  const missing = missingForClose(status.fields);
  const due = status.fields.dueDate
    ? overdue
      ? ` It was due on ${escapeText(status.fields.dueDate)}: it is overdue.`
      : ` It is due on ${escapeText(status.fields.dueDate)}.`
    : '';
  const todo =
    missing.length > 0
      ? `Still to fill: ${missing.map((name) => FIELD_LABELS[name]).join(', ')}.`
      : 'Everything is filled: close it.';
  return `${mention} this CAPA is still open.${due} ${todo}`;
}

/** The Fill in modal (views.open), its inputs holding what is filled so far. */
export function capaModal(status: CapaStatus) {
  const text = (name: 'rootCause' | 'correctiveAction' | 'preventiveAction') => ({
    type: 'input' as const,
    block_id: name,
    optional: true,
    label: { type: 'plain_text' as const, text: FIELD_LABELS[name] },
    element: {
      type: 'plain_text_input' as const,
      action_id: 'value',
      multiline: true,
      max_length: 3_000,
      ...(status.fields[name] ? { initial_value: status.fields[name] } : {}),
    },
  });
  return {
    type: 'modal' as const,
    callback_id: CAPA_MODAL_CALLBACK_ID,
    private_metadata: status.capaId,
    title: { type: 'plain_text' as const, text: 'CAPA' },
    submit: { type: 'plain_text' as const, text: 'Save' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      section(`*${quote(capaTitle(status.opening))}*`),
      text('rootCause'),
      text('correctiveAction'),
      text('preventiveAction'),
      {
        type: 'input' as const,
        block_id: 'owner',
        optional: true,
        label: { type: 'plain_text' as const, text: FIELD_LABELS.owner },
        element: {
          type: 'users_select' as const,
          action_id: 'value',
          ...(status.fields.owner && /^[UW][A-Z0-9]{2,}$/.test(status.fields.owner)
            ? { initial_user: status.fields.owner }
            : {}),
        },
      },
      {
        type: 'input' as const,
        block_id: 'dueDate',
        optional: true,
        label: { type: 'plain_text' as const, text: FIELD_LABELS.dueDate },
        element: {
          type: 'datepicker' as const,
          action_id: 'value',
          ...(status.fields.dueDate ? { initial_date: status.fields.dueDate } : {}),
        },
      },
    ],
  };
}
