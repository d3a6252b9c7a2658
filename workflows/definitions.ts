// The playbook run's messages and status, imported by callers (ingress, CLI, tests) and the workflow.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AlertNotification, TrackedAlerts } from '../alerts/tracker';
import type { RunPlan } from '../playbook/plan';

export interface PlaybookRunInput {
  /** The resolved playbook: a snapshot, so editing the file never changes a running workflow. */
  plan: RunPlan;
  /** The alert that started the run. */
  alert: AlertNotification & { labels: Record<string, string>; annotations: Record<string, string> };
}

export type RunState = 'applying' | 'mitigated' | 'cooldown' | 'rolling-back' | 'rolled-back' | 'rollback-failed' | 'failed';

export interface AppliedChange {
  stepId: string;
  action: string;
  summary: string;
  previous: unknown;
  appliedAt: string;
  undoneAt: string | null;
  undoError: string | null;
}

export interface RunStatus {
  playbook: string;
  digest: string;
  target: string;
  state: RunState;
  currentStep: string | null;
  applied: AppliedChange[];
  alerts: TrackedAlerts;
  /** When the run acts next on its own (the end of the cooldown), if it is waiting for a time. */
  nextDeadline: string | null;
  /** Alert notifications signalled to the run; the one that started it is signalled too. */
  notifications: { received: number; repeated: number; stale: number };
  /** Why changes were or are being rolled back. */
  rollbackReason: string | null;
}

export const alertNotificationSignal = defineSignal<[AlertNotification]>('alertNotification');
export const statusQuery = defineQuery<RunStatus>('status');
