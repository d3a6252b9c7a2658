// Row 4's accounting, from Temporal itself: every playbookRun execution listed, each one's `status`
// queried; every alert of the storm must be in exactly one run's status.alerts, and each target
// must have one run. A target without a change at the gateway must say that it waits (the contract:
// state 'waiting' and status.admission).
import type { RunStatus } from '../workflows/playbook-run/definitions';
import { statusQuery } from '../workflows/playbook-run/definitions';
import { pool } from './alerts';
import type { Stack } from './stack';
import type { StormPlan } from './storm-plan';

type Status = RunStatus & { admission?: { waitingFor: string; position: number | null; since: string } };

export interface Accounting {
  runs: number;
  targetsWithRun: number;
  extraRuns: number;
  alertsInOneRun: number;
  lost: number;
  /** Alerts whose run did not answer its status query: neither found nor lost. */
  unknown: number;
  inSeveralRuns: number;
  resolvesApplied: number;
  resolves: number;
  /** Targets without a change at the gateway, by what their newest run's status says. */
  notActed: Record<string, number>;
  visiblyWaiting: number;
  queryFailures: number;
}

/** `acted`: the targets changed at the gateway by the end of the 60 s. */
export async function account(stack: Stack, plan: StormPlan, acted: ReadonlySet<string>): Promise<Accounting> {
  const executions: Array<{ workflowId: string; runId: string; tenant: string; open: boolean }> = [];
  for await (const run of stack.env.client.workflow.list({ query: `WorkflowType = 'playbookRun'` })) {
    const tenant = /tenant=(storm-\d+)$/.exec(run.workflowId)?.[1];
    if (tenant && !run.workflowId.startsWith('raw/'))
      executions.push({ workflowId: run.workflowId, runId: run.runId, tenant, open: run.status.name === 'RUNNING' });
  }
  const statuses = new Map<string, Status[]>();
  const unanswered = new Set<string>();
  const ask = async ({ workflowId, runId, tenant, open }: (typeof executions)[number]) => {
    try {
      const status = (await stack.env.client.workflow.getHandle(workflowId, runId).query(statusQuery)) as Status;
      // The open run first: it is the one that says what the target does now.
      const list = statuses.get(tenant) ?? [];
      if (open) list.unshift(status);
      else list.push(status);
      statuses.set(tenant, list);
      return true;
    } catch {
      return false;
    }
  };
  const failed: typeof executions = [];
  await pool(executions, 32, async (execution) => {
    if (!(await ask(execution))) failed.push(execution);
  });
  // A busy worker lets queries time out: each failed one is asked once more, a few at a time.
  let queryFailures = 0;
  await pool(failed, 4, async (execution) => {
    if (await ask(execution)) return;
    queryFailures++;
    unanswered.add(execution.tenant);
  });

  const result: Accounting = {
    runs: executions.length,
    targetsWithRun: new Set(executions.map(({ tenant }) => tenant)).size,
    extraRuns: 0,
    alertsInOneRun: 0,
    lost: 0,
    unknown: 0,
    inSeveralRuns: 0,
    resolvesApplied: 0,
    resolves: 0,
    notActed: {},
    visiblyWaiting: 0,
    queryFailures,
  };
  result.extraRuns = result.runs - result.targetsWithRun;
  for (const [fingerprint, { tenant, resolved }] of plan.alerts) {
    const holding = (statuses.get(tenant) ?? []).filter((status) => status.alerts[fingerprint]);
    if (holding.length === 0 && unanswered.has(tenant)) result.unknown++;
    else if (holding.length === 0) result.lost++;
    else if (holding.length > 1) result.inSeveralRuns++;
    else result.alertsInOneRun++;
    if (resolved) {
      result.resolves++;
      if (holding.some((status) => status.alerts[fingerprint]?.status === 'resolved')) result.resolvesApplied++;
    }
  }
  for (const tenant of plan.tenants) {
    if (acted.has(tenant)) continue;
    const [status] = statuses.get(tenant) ?? [];
    const state: string = status ? status.state : unanswered.has(tenant) ? 'status query failed' : 'no run';
    if (state === 'waiting' && status?.admission) result.visiblyWaiting++;
    result.notActed[state] = (result.notActed[state] ?? 0) + 1;
  }
  return result;
}
