// A click on an approval button, read from Slack's interactivity request (form field `payload`, JSON,
// type block_actions). Verify the signature over the raw body first (signature.ts), then parse.
import { z } from 'zod';
import { APPROVE_ACTION_ID, parseApprovalButtonValue, REJECT_ACTION_ID } from './approval-button';

export const blockActionsPayloadSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1) }),
  actions: z
    .array(z.object({ action_id: z.string().min(1), value: z.string().optional(), action_ts: z.string().min(1) }))
    .min(1),
  container: z.object({ message_ts: z.string().min(1) }),
  channel: z.object({ id: z.string().min(1) }),
  response_url: z.url(),
});

export interface ApprovalClick {
  /** The Slack user id of whoever clicked. */
  user: string;
  action: 'approve' | 'reject';
  workflowId: string;
  stepId: string;
  /** The approval message, as notifier.requestApproval answered it. */
  messageTs: string;
  channel: string;
  /** Where an ephemeral reply to the clicker goes (valid 30 minutes, 5 uses). */
  responseUrl: string;
  /** Slack's time of the click: the same click delivered twice carries the same action_ts. */
  actionTs: string;
}

export type ApprovalClickParse = { ok: true; click: ApprovalClick } | { ok: false; reason: string };

/** Reads the approval click from the request's raw form body (application/x-www-form-urlencoded). */
export function parseApprovalClick(formBody: string): ApprovalClickParse {
  const payload = new URLSearchParams(formBody).get('payload');
  if (payload === null) return { ok: false, reason: 'the form has no payload field' };
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'the payload field is not JSON' };
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (type !== 'block_actions')
    return {
      ok: false,
      reason: `payload type ${JSON.stringify(type)} is not handled (only block_actions: approval buttons)`,
    };
  const parsed = blockActionsPayloadSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `block_actions payload: ${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  const { user, actions, container, channel, response_url } = parsed.data;
  const [button] = actions as [(typeof actions)[number]];
  if (button.action_id !== APPROVE_ACTION_ID && button.action_id !== REJECT_ACTION_ID) {
    return {
      ok: false,
      reason: `action ${JSON.stringify(button.action_id)} is not an approval button (${APPROVE_ACTION_ID} or ${REJECT_ACTION_ID})`,
    };
  }
  if (button.value === undefined) return { ok: false, reason: `the ${button.action_id} button carries no value` };
  const target = parseApprovalButtonValue(button.value);
  if (!target.ok) return target;
  return {
    ok: true,
    click: {
      user: user.id,
      action: button.action_id,
      workflowId: target.target.workflowId,
      stepId: target.target.stepId,
      messageTs: container.message_ts,
      channel: channel.id,
      responseUrl: response_url,
      actionTs: button.action_ts,
    },
  };
}
