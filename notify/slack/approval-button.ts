// What an Approve / Reject button carries back to the interactivity endpoint: the run and the step, compactly
// (Slack allows 2000 characters per button value).
import { z } from 'zod';

export const APPROVE_ACTION_ID = 'approve';
export const REJECT_ACTION_ID = 'reject';

const MAX_BUTTON_VALUE = 2_000;

const approvalButtonValueSchema = z.object({ w: z.string().min(1), s: z.string().min(1) }).strict();

export interface ApprovalButtonTarget {
  workflowId: string;
  stepId: string;
}

/**
 * The button value, or null when it would exceed Slack's limit (a run id made long by its alert's labels): the
 * message then goes out without buttons instead of not at all.
 */
export function approvalButtonValueOrNull({ workflowId, stepId }: ApprovalButtonTarget): string | null {
  const value = JSON.stringify({ w: workflowId, s: stepId });
  return value.length > MAX_BUTTON_VALUE ? null : value;
}

export function approvalButtonValue({ workflowId, stepId }: ApprovalButtonTarget): string {
  const value = JSON.stringify({ w: workflowId, s: stepId });
  if (value.length > MAX_BUTTON_VALUE) {
    throw new Error(
      `approval button for ${workflowId} step ${stepId}: ${value.length} characters exceed Slack's ${MAX_BUTTON_VALUE}; shorten the workflow id or step id`,
    );
  }
  return value;
}

export function parseApprovalButtonValue(
  value: string,
): { ok: true; target: ApprovalButtonTarget } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { ok: false, reason: `button value is not JSON: ${JSON.stringify(value.slice(0, 100))}` };
  }
  const parsed = approvalButtonValueSchema.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      reason: `button value is not {"w": workflowId, "s": stepId}: ${JSON.stringify(value.slice(0, 100))}`,
    };
  return { ok: true, target: { workflowId: parsed.data.w, stepId: parsed.data.s } };
}
