// A CAPA (corrective and preventive action) record for a cost anomaly: what happened, what the engine did and what it
// saved, and what people fill in (root cause, corrective and preventive action, owner, due date) before a closer
// closes it. One durable workflow per cost run (capa.ts); its messages are defined here, pure, so the ingress, the
// CLI, the run that opens it and the workflow share them.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** The CAPA of the run `runWorkflowId` whose first execution was `firstRunId`: a run id is reused, a first run id not. */
export const capaWorkflowId = (runWorkflowId: string, firstRunId: string) => `capa/${runWorkflowId}/${firstRunId}`;

/** What the run knows when it opens the CAPA: the anomaly, as its alert told it. */
export interface CapaOpening {
  run: {
    workflowId: string;
    firstRunId: string;
    playbook: string;
    severity: string;
    target: string;
    tenant: string | null;
    route: string | null;
    startedAt: string;
  };
  alert: {
    name: string;
    /** The alert's summary, e.g. "spend on chat/acme is 6.2x its 14-day average". */
    summary: string | null;
    startsAt: string;
    generatorURL: string | null;
  };
  /** Who hears of it and of every reminder until an owner is named (notify names, e.g. finops). */
  notifyTo: string[];
  /** How often the owner (or notifyTo) is reminded while it is open. */
  remindEveryMs: number;
}

/** What the run did, sent when it ends: its changes, what they saved, how it ended. */
export interface CapaRunOutcome {
  state: string;
  endedAt: string;
  changes: Array<{ stepId: string; summary: string; appliedAt: string; undoneAt: string | null }>;
  /** The tenant's cost on the route just before the first change, and the newest sample, in $/hour. */
  costBeforeUsdPerHour: number | null;
  costAfterUsdPerHour: number | null;
  savedUsd: number | null;
  escalatedTo: string | null;
  rollbackReason: string | null;
}

/** The fields people fill in. A due date is a calendar day (UTC), e.g. 2026-12-21. */
export interface CapaFields {
  rootCause: string;
  correctiveAction: string;
  preventiveAction: string;
  /** A user id (Slack's U…, or an operator id of approvals.operatorTokens). */
  owner: string;
  dueDate: string;
}

export const CAPA_FIELDS = ['rootCause', 'correctiveAction', 'preventiveAction', 'owner', 'dueDate'] as const;

export interface CapaFill {
  by: string;
  fields: Partial<CapaFields>;
  via: 'api' | 'slack' | 'cli';
}

export interface CapaClose {
  by: string;
  note?: string | undefined;
  via: 'api' | 'slack' | 'cli';
}

export interface CapaEvent {
  at: string;
  by: string;
  what: string;
}

export interface CapaStatus {
  capaId: string;
  state: 'open' | 'closed';
  opening: CapaOpening;
  openedAt: string;
  outcome: CapaRunOutcome | null;
  fields: Partial<CapaFields>;
  /** Everything people did to it, with who and when; refused attempts too. */
  history: CapaEvent[];
  closed: { by: string; at: string; note: string | null } | null;
  reminders: { sent: number; nextAt: string | null };
  /** Where it was posted (Slack), to update the message when it changes; null in the log. */
  message: { channel: string; ts: string } | null;
}

/** A CAPA as the visibility list shows it (its memo), without asking the workflow. */
export interface CapaMemo {
  title: string;
  playbook: string;
  target: string;
  tenant: string | null;
  route: string | null;
  openedAt: string;
  owner: string | null;
  dueDate: string | null;
}

export const capaStatusQuery = defineQuery<CapaStatus>('capaStatus');
export const fillCapaUpdate = defineUpdate<CapaStatus, [CapaFill]>('fillCapa');
export const closeCapaUpdate = defineUpdate<CapaStatus, [CapaClose]>('closeCapa');
export const capaRunEndedSignal = defineSignal<[CapaRunOutcome]>('capaRunEnded');
/** An attempt the ingress refused (not allowed to close): recorded in the CAPA's history, changes nothing. */
export const capaRefusedSignal =
  defineSignal<[{ by: string; what: string; refusal: string; at: string }]>('capaRefused');

const MAX_TEXT_CHARS = 4_000;
const USER_ID = /^[A-Za-z0-9._@-]{1,128}$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Why `day` is not a calendar day, or null. */
export function dueDateProblem(day: string): string | null {
  const match = DAY.exec(day);
  if (!match) return `dueDate ${JSON.stringify(day)} is not a day: write it as YYYY-MM-DD, e.g. 2026-12-21`;
  const [, year, month, date] = match.map(Number) as [number, number, number, number];
  const parsed = new Date(Date.UTC(year, month - 1, date));
  if (parsed.getUTCMonth() !== month - 1 || parsed.getUTCDate() !== date)
    return `dueDate ${day} is not a day of the calendar`;
  return null;
}

/** Why a fill cannot be taken (the fields people send), or null. */
export function fillProblem(fields: Partial<CapaFields>): string | null {
  const given = Object.entries(fields).filter(([, value]) => value !== undefined);
  if (given.length === 0) return `nothing to fill: send one or more of ${CAPA_FIELDS.join(', ')}`;
  for (const [name, value] of given) {
    if (!(CAPA_FIELDS as readonly string[]).includes(name))
      return `${name} is not a CAPA field (${CAPA_FIELDS.join(', ')})`;
    if (typeof value !== 'string' || value.trim() === '') return `${name} is empty`;
    if (value.length > MAX_TEXT_CHARS) return `${name} is longer than ${MAX_TEXT_CHARS} characters`;
  }
  if (fields.owner !== undefined && !USER_ID.test(fields.owner))
    return `owner ${JSON.stringify(fields.owner)} is not a user id (e.g. U0ALICE)`;
  return fields.dueDate === undefined ? null : dueDateProblem(fields.dueDate);
}

/** The fields a close still needs, in order. */
export const missingForClose = (fields: Partial<CapaFields>) => CAPA_FIELDS.filter((name) => !fields[name]);

/** Past its due date: the due day has ended (UTC). */
export function isOverdue(dueDate: string | null | undefined, now: Date): boolean {
  if (!dueDate || dueDateProblem(dueDate)) return false;
  return now.getTime() >= Date.parse(`${dueDate}T00:00:00Z`) + 86_400_000;
}

/** The one line a list shows, e.g. "LLMSpendBurnRateHigh on route=chat,tenant=acme (cost-s2)". */
export const capaTitle = ({ alert, run }: CapaOpening) => `${alert.name} on ${run.target} (${run.playbook})`;
