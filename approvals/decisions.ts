// Taking a decision on an approval, from the runs API or Slack: check who decides against the
// configured approvers, then send it to the run. A refusal is recorded in the run either way:
// unauthorised attempts by a signal, the others by the run itself.
import type { Client } from '@temporalio/client';
import { authorize, playbookOfStep, type Approvers, type Directory } from './approvers';
import type { Playbook } from '../playbook/playbook-schema';
import {
  decideUpdate,
  decisionRefusedSignal,
  type Decision,
  type RecordedDecision,
} from '../workflows/playbook-run/definitions';

export interface DecisionContext {
  client: Client;
  playbooks: readonly Playbook[];
  approvers: Approvers;
  /** Slack's user groups, when Slack is configured. */
  directory?: Directory | undefined;
}

export type DecisionResult =
  | { outcome: 'decided'; decision: RecordedDecision; approvalsStillNeeded: number }
  | { outcome: 'refused'; refusal: string; unauthorised: boolean };

/** `playbook/<playbook>/<target>`: the run's playbook. */
const playbookOfRun = (workflowId: string) => workflowId.split('/')[1] ?? '';

/**
 * Authorises and sends one decision. `updateId` names the request (a Slack click, an API request's
 * Idempotency-Key): the same request delivered again counts once. Temporal errors (no such run,
 * unreachable) are thrown to the caller.
 */
export async function decide(
  { client, playbooks, approvers, directory }: DecisionContext,
  workflowId: string,
  decision: Decision,
  updateId?: string,
): Promise<DecisionResult> {
  const playbook = playbookOfStep(decision.stepId, playbookOfRun(workflowId));
  const severity = playbooks.find(({ spec }) => spec.name === playbook)?.spec.severity;
  const handle = client.workflow.getHandle(workflowId);
  const authorization = severity
    ? await authorize(decision.by, { playbook, severity }, approvers, directory)
    : { ok: false as const, reason: `no playbook named ${playbook}` };
  if (!authorization.ok) {
    await handle.signal(decisionRefusedSignal, { ...decision, refusal: authorization.reason });
    return { outcome: 'refused', refusal: authorization.reason, unauthorised: true };
  }
  const answer = await handle.executeUpdate(decideUpdate, { args: [decision], ...(updateId && { updateId }) });
  return answer.accepted
    ? { outcome: 'decided', decision: answer.decision, approvalsStillNeeded: answer.approvalsStillNeeded }
    : { outcome: 'refused', refusal: answer.refusal, unauthorised: false };
}
