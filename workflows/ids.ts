// Deterministic workflow ids: every notification about the same playbook and target reaches the
// same run, which is what makes duplicate webhooks harmless.
export const playbookRunId = (playbook: string, targetKey: string) => `playbook/${playbook}/${targetKey}`;

/** The key that makes a step's side effect happen once, whatever the retries and replays. */
export const stepIdempotencyKey = (workflowId: string, runId: string, stepId: string, phase: 'apply' | 'undo') =>
  `${workflowId}/${runId}/${stepId}/${phase}`;
