// One Alertmanager notification's routed alerts, handed to Temporal with one call per run, not per alert: the
// alerts routed to the same run (playbook × target) go together in one signalWithStart when any of them fires, or one
// signal when all are resolved (a resolution never starts a run). A notification of 50 alerts on one target costs one
// call and one workflow task where it cost 50. What became of each alert is still said per alert.
import type { Client } from '@temporalio/client';
import type { Alert } from '../alerts/alertmanager';
import type { RoutingDecision } from '../alerts/routing';
import type { RunPlan } from '../playbook/plan';
import type { RepeatCache } from './repeat-cache';
import {
  isRetryable,
  notificationOf,
  runInput,
  runStartProblem,
  signalNotifications,
  startOrSignalRunWith,
  workflowIdProblem,
} from './run-dispatch';

export type Outcome =
  | {
      outcome: 'started-or-signalled' | 'resolution-signalled' | 'no-active-run' | 'repeat-absorbed';
      fingerprint: string;
      playbook: string;
      workflowId: string;
      /** Values the alert lacks that only the playbook's text names (placeholders stand in). */
      textGaps?: string[];
    }
  | { outcome: 'unrouted'; fingerprint: string }
  | { outcome: 'rejected'; fingerprint: string; playbook: string; reason: string }
  | { outcome: 'failed'; fingerprint: string; playbook: string; workflowId: string; error: string; retryable: boolean };

export interface DispatchOptions {
  client: Client;
  taskQueue: string;
  /** What Temporal accepted lately: a run's alerts that only repeat it are answered without a call. */
  repeats: RepeatCache;
}

interface Member {
  /** The alert's place in the notification, where its outcome goes. */
  index: number;
  alert: Alert;
  plan: RunPlan;
}

/** What becomes of an alert that Temporal is not asked about (unrouted, or refused), or undefined. */
function settledAlone(decision: RoutingDecision): Outcome | undefined {
  const { alert } = decision;
  if (decision.outcome === 'unrouted') return { outcome: 'unrouted', fingerprint: alert.fingerprint };
  if (decision.outcome === 'rejected')
    return {
      outcome: 'rejected',
      fingerprint: alert.fingerprint,
      playbook: decision.playbook,
      reason: decision.reason,
    };
  // Refused as an alert that cannot run: a 5xx would have Alertmanager retry, in vain, for as long as it fires.
  const problem =
    alert.status === 'firing'
      ? runStartProblem(decision.workflowId, decision.plan, alert)
      : workflowIdProblem(decision.workflowId, { ofTarget: true });
  if (problem)
    return {
      outcome: 'rejected',
      fingerprint: alert.fingerprint,
      playbook: decision.plan.playbook.name,
      reason: problem,
    };
  return undefined;
}

/** One call for the alerts of one run; each gets the run's outcome. */
async function dispatchRun(workflowId: string, members: Member[], options: DispatchOptions): Promise<Outcome[]> {
  const { client, taskQueue, repeats } = options;
  const notifications = members.map(({ alert }) => notificationOf(alert));
  const base = ({ alert, plan }: Member) => ({
    fingerprint: alert.fingerprint,
    playbook: plan.playbook.name,
    workflowId,
  });
  if (repeats.allRepeats(workflowId, notifications))
    return members.map((member) => ({ outcome: 'repeat-absorbed', ...base(member) }));

  // The run starts from its first firing alert, as when each alert was a call of its own and the first one won.
  const starter = members.find(({ alert }) => alert.status === 'firing');
  try {
    if (starter) {
      await startOrSignalRunWith(client, taskQueue, workflowId, runInput(starter.plan, starter.alert), notifications);
      repeats.record(workflowId, notifications);
      return members.map((member): Outcome => {
        if (member.alert.status === 'resolved') return { outcome: 'resolution-signalled', ...base(member) };
        const { plan } = member;
        const textGaps = [...(plan.textGaps ?? []), ...(plan.escalation?.plan.textGaps ?? [])];
        return { outcome: 'started-or-signalled', ...base(member), ...(textGaps.length > 0 && { textGaps }) };
      });
    }
    const answer = await signalNotifications(client, workflowId, notifications);
    // No run took them: nothing to remember, a repeat asks again (and costs no history where no run is).
    if (answer === 'signalled') repeats.record(workflowId, notifications);
    const outcome = answer === 'signalled' ? 'resolution-signalled' : 'no-active-run';
    return members.map((member) => ({ outcome, ...base(member) }));
  } catch (error) {
    const failure = { error: (error as Error).message, retryable: isRetryable(error) };
    return members.map((member) => ({ outcome: 'failed', ...base(member), ...failure }));
  }
}

/** Every decision's outcome, in the decisions' order, with one Temporal call per run they route to. */
export async function dispatchNotification(
  decisions: readonly RoutingDecision[],
  options: DispatchOptions,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const runs = new Map<string, Member[]>();
  decisions.forEach((decision, index) => {
    const alone = settledAlone(decision);
    if (alone) outcomes[index] = alone;
    if (alone || decision.outcome !== 'routed') return;
    const members = runs.get(decision.workflowId) ?? [];
    if (members.length === 0) runs.set(decision.workflowId, members);
    members.push({ index, alert: decision.alert, plan: decision.plan });
  });
  await Promise.all(
    [...runs].map(async ([workflowId, members]) => {
      const results = await dispatchRun(workflowId, members, options);
      members.forEach(({ index }, i) => (outcomes[index] = results[i]!));
    }),
  );
  return outcomes;
}
