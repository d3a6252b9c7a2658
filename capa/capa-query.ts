// The CAPAs as Temporal's visibility store lists them: open ones (FinopsState), overdue ones (FinopsCapaDue), one
// owner's (FinopsCapaOwner); each with its memo, so a list asks no workflow anything.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { isOverdue, type CapaMemo } from '../workflows/capa/definitions';

export interface CapaSummary {
  capaId: string;
  title: string;
  playbook: string;
  target: string;
  tenant?: string;
  route?: string;
  owner: string | null;
  dueAt: string | null;
  overdue: boolean;
  openedAt: string;
  state: 'open' | 'closed';
}

export interface CapaFilter {
  state?: 'open' | 'closed' | 'all';
  owner?: string;
  /** Only those whose due day has ended. */
  overdue?: boolean;
}

/** Visibility queries quote values with ' and take '' for a quote inside one. */
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

export function capaQuery({ state = 'open', owner, overdue }: CapaFilter, now = new Date()): string {
  const clauses = [`WorkflowType = 'capa'`];
  if (state !== 'all') clauses.push(`FinopsState = ${literal(state)}`);
  if (owner !== undefined) clauses.push(`FinopsCapaOwner = ${literal(owner)}`);
  // Due at the start of its day; overdue once the whole day has passed.
  if (overdue) clauses.push(`FinopsCapaDue < ${literal(new Date(now.getTime() - 86_400_000).toISOString())}`);
  return clauses.join(' AND ');
}

function summaryOf(execution: WorkflowExecutionInfo, now: Date): CapaSummary | null {
  const memo = execution.memo?.capa as CapaMemo | undefined;
  if (!memo) return null;
  const state = execution.status.name === 'RUNNING' ? 'open' : 'closed';
  return {
    capaId: execution.workflowId,
    title: memo.title,
    playbook: memo.playbook,
    target: memo.target,
    ...(memo.tenant ? { tenant: memo.tenant } : {}),
    ...(memo.route ? { route: memo.route } : {}),
    owner: memo.owner,
    dueAt: memo.dueDate,
    overdue: state === 'open' && isOverdue(memo.dueDate, now),
    openedAt: memo.openedAt,
    state,
  };
}

/** The CAPAs the filter names (default: the open ones), oldest first, at most `limit`. */
export async function listCapas(
  client: Client,
  filter: CapaFilter = {},
  now = new Date(),
  limit = 500,
): Promise<CapaSummary[]> {
  const found: CapaSummary[] = [];
  for await (const execution of client.workflow.list({ query: capaQuery(filter, now) })) {
    const summary = summaryOf(execution, now);
    if (summary) found.push(summary);
    if (found.length >= limit) break;
  }
  return found.sort((a, b) => a.openedAt.localeCompare(b.openedAt));
}

/** The open CAPAs, for the weekly review: each says whether it is overdue. */
export const openCapas = (client: Client, now = new Date()) => listCapas(client, { state: 'open' }, now);
