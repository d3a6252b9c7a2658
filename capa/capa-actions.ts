// Filling and closing a CAPA, from the HTTP API, the CLI (through it) or Slack: check who acts, then send the update.
// Who may close: finops.capa.closers, or, absent, whoever may approve the CAPA's playbook at its severity
// (approvals.approvers). Who may fill: the same people and the CAPA's owner. A refusal is recorded in the CAPA's
// history by a signal, so its audit shows every attempt.
import type { Client } from '@temporalio/client';
import { isAmong, uncheckedGroups, type Approvers, type Directory } from '../approvals/approvers';
import {
  capaRefusedSignal,
  capaStatusQuery,
  closeCapaUpdate,
  fillCapaUpdate,
  type CapaClose,
  type CapaFill,
  type CapaStatus,
} from '../workflows/capa/definitions';

export interface CapaContext {
  client: Client;
  approvers: Approvers;
  /** finops.capa.closers; absent, the playbook's approvers close. */
  closers?: readonly string[] | undefined;
  directory?: Directory | undefined;
}

export type CapaActionResult =
  { outcome: 'done'; status: CapaStatus } | { outcome: 'refused'; refusal: string; unauthorised: boolean };

/** Who may close this CAPA, and the setting that says so (for the refusal). */
function closersOf(
  { approvers, closers }: CapaContext,
  { opening }: CapaStatus,
): { entries: string[]; setting: string } {
  if (closers) return { entries: [...closers], setting: 'finops.capa.closers' };
  const { playbook, severity } = opening.run;
  const entries =
    approvers[playbook]?.[severity as 'S1' | 'S2' | 'S3'] ?? approvers.default?.[severity as 'S1' | 'S2' | 'S3'] ?? [];
  return { entries, setting: `approvals.approvers.${playbook}.${severity} (or finops.capa.closers)` };
}

/** Why `by` may not `what` this CAPA, or null when they may. */
export async function authorised(
  context: CapaContext,
  status: CapaStatus,
  by: string,
  what: 'fill' | 'close',
): Promise<string | null> {
  const { entries, setting } = closersOf(context, status);
  if (await isAmong(by, entries, context.directory)) return null;
  if (what === 'fill' && status.fields.owner === by) return null;
  const who = entries.length > 0 ? entries.join(', ') : 'nobody';
  const owner = what === 'fill' ? ` and its owner${status.fields.owner ? ` (${status.fields.owner})` : ''}` : '';
  return `${by} may not ${what} CAPA ${status.capaId}: ${setting} names ${who}${owner}${uncheckedGroups(entries, context.directory)}`;
}

/** Keeps a refused attempt in the CAPA's history. */
export const recordRefusal = (context: CapaContext, capaId: string, by: string, what: string, refusal: string) =>
  context.client.workflow
    .getHandle(capaId)
    .signal(capaRefusedSignal, { by, what, refusal, at: new Date().toISOString() });

async function act(
  context: CapaContext,
  capaId: string,
  by: string,
  what: 'fill' | 'close',
  send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<CapaStatus>,
): Promise<CapaActionResult> {
  const handle = context.client.workflow.getHandle(capaId);
  const status = await handle.query(capaStatusQuery);
  if (status.state === 'closed')
    return { outcome: 'refused', refusal: `CAPA ${capaId} is closed`, unauthorised: false };
  const refusal = await authorised(context, status, by, what);
  if (refusal) {
    await recordRefusal(context, capaId, by, what, refusal);
    return { outcome: 'refused', refusal, unauthorised: true };
  }
  return { outcome: 'done', status: await send(handle) };
}

/**
 * `updateId` names the request (a Slack submission, an API request's Idempotency-Key): the same request delivered
 * again counts once. The workflow's own refusals (an empty field, fields missing for a close) are thrown as
 * WorkflowUpdateFailedError, like Temporal's errors (no such CAPA, unreachable).
 */
export const fillCapa = (context: CapaContext, capaId: string, fill: CapaFill, updateId?: string) =>
  act(context, capaId, fill.by, 'fill', (handle) =>
    handle.executeUpdate(fillCapaUpdate, { args: [fill], ...(updateId && { updateId }) }),
  );

export const closeCapa = (context: CapaContext, capaId: string, close: CapaClose, updateId?: string) =>
  act(context, capaId, close.by, 'close', (handle) =>
    handle.executeUpdate(closeCapaUpdate, { args: [close], ...(updateId && { updateId }) }),
  );
