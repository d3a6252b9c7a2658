// Resolves a playbook against one alert: which steps will run with which parameters. Pure: the
// ingress plans before it starts a run, and the run keeps the plan as its snapshot.
import type { Alert } from '../alerts/alertmanager';
import type { Target } from '../alerts/target';
import { formatIssues } from '../validation/issues';
import { ACTIONS, type ActionName } from './actions';
import type { Playbook } from './schema';

export interface PlannedStep {
  id: string;
  description?: string | undefined;
  action: ActionName;
  params: unknown;
}

export interface RunPlan {
  playbook: { name: string; digest: string; file: string; severity: string; description: string };
  target: Target;
  cooldownMs: number;
  steps: PlannedStep[];
}

const EXPRESSION = /\{\{\s*([^}]*?)\s*\}\}/g;
const REFERENCE = /^(labels|annotations)\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** Replaces `{{ labels.NAME }}` and `{{ annotations.NAME }}` in every string; values stay data. */
export function renderTemplates(value: unknown, alert: Pick<Alert, 'labels' | 'annotations'>): unknown {
  if (typeof value === 'string') {
    return value.replace(EXPRESSION, (_match, expression: string) => {
      const reference = REFERENCE.exec(expression);
      if (!reference) throw new Error(`{{ ${expression} }} is not a template expression; write {{ labels.NAME }} or {{ annotations.NAME }}`);
      const [, source, name] = reference as unknown as [string, 'labels' | 'annotations', string];
      const found = alert[source][name];
      if (found === undefined) throw new Error(`the alert has no ${source.slice(0, -1)} "${name}" for {{ ${expression} }}`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item) => renderTemplates(item, alert));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderTemplates(item, alert)]));
  }
  return value;
}

export type PlanResult = { ok: true; plan: RunPlan } | { ok: false; problem: string };

export function planRun(playbook: Playbook, alert: Alert, target: Target, defaults: { cooldownMs: number }): PlanResult {
  const { spec } = playbook;
  const steps: PlannedStep[] = [];
  for (const step of spec.steps) {
    const schema = ACTIONS[step.action].params;
    let params: unknown;
    try {
      params = renderTemplates(step.params, alert);
    } catch (error) {
      return { ok: false, problem: `step ${step.id}: ${(error as Error).message}` };
    }
    const parsed = schema.safeParse(params);
    if (!parsed.success) return { ok: false, problem: `step ${step.id}: params.${formatIssues(parsed.error, schema).join('; ')}` };
    steps.push({ id: step.id, description: step.description, action: step.action, params: parsed.data });
  }
  return {
    ok: true,
    plan: {
      playbook: { name: spec.name, digest: playbook.digest, file: playbook.file, severity: spec.severity, description: spec.description },
      target,
      cooldownMs: spec.cooldown ?? defaults.cooldownMs,
      steps,
    },
  };
}
