// Resolves a playbook against one alert: which steps will run with which parameters. Pure: the
// ingress plans before it starts a run, and the run keeps the plan as its snapshot.
import type { Alert } from '../alerts/alertmanager';
import type { Target } from '../alerts/target';
import { formatIssues } from '../validation/issues';
import { isDestructive, objectsOf, stepSpec, type ActionName, type CheckName } from './step-registry';
import type { Condition, Playbook, PlaybookSpec, PlaybookStep, Severity } from './playbook-schema';
import { promqlStringContent, regexMatchingExactly, stringLiteralAt } from '../prometheus/promql';
import { lackedKnobs, type GatewayKind } from '../gateway/gateway-knobs';

interface PlannedStepBase {
  id: string;
  description?: string | undefined;
  when?: Condition | undefined;
  /** Skipped whatever happens, and why: a change the configured gateway cannot make (`unsupported: skip`). */
  skip?: string | undefined;
}

/** A step with its templates resolved against the alert: what the workflow runs. */
export type PlannedStep = PlannedStepBase &
  (
    | {
        kind: 'action';
        action: ActionName;
        params: unknown;
        /**
         * `unsupported: skip`: the step is skipped, not failed, where the gateway object is not set up for its change
         * (a plugin or a deployment's weight missing: GatewayError.notSetUp), as where the gateway lacks the knob.
         */
        skipWhereNotSetUp?: true;
        /** The shared objects the change touches (see ActionSpec): one run holds each at a time. */
        objects: string[];
      }
    | { kind: 'check'; check: CheckName; params: unknown }
    | { kind: 'notify'; to: string[]; message: string }
    | {
        kind: 'approval';
        summary: string;
        timeoutMs: number;
        onTimeout: 'approve' | 'reject';
        onReject: 'stop' | 'rollback';
        /** Notify names to ask. */
        to: string[];
        /** Distinct approvers needed: 2 (four eyes) for destructive steps in an S1 playbook. */
        approvalsNeeded: number;
        remindAfterMs: number;
        escalate: { afterMs: number; mention: string[]; alsoTo: string[] } | null;
      }
    | { kind: 'waitUntilResolved' }
    | { kind: 'warRoom'; name: string; invite: string[] }
    | {
        kind: 'adapt';
        everyMs: number;
        measure: Measure;
        action: ActionName;
        /** Lowest threshold first. */
        levels: Array<{ above: number; params: unknown }>;
        /** The shared objects any level touches. */
        objects: string[];
      }
    | {
        kind: 'verify';
        measure: Measure;
        expect: { below?: number | undefined; above?: number | undefined };
        withinMs: number;
        everyMs: number;
      }
  );

/** A check whose fact gives a number to compare. */
export interface Measure {
  check: CheckName;
  params: unknown;
  fact: string;
}

export interface RunPlan {
  playbook: { name: string; digest: string; file: string; severity: Severity; description: string; dryRun: boolean };
  target: Target;
  cooldownMs: number;
  steps: PlannedStep[];
  /**
   * How the run attributes savings: the target's cost rate ($/hour), sampled every `everyMs`, from the PromQL `query`
   * or, when `measure` is set, from that check's fact (`query` then names the check and fact, for the status).
   */
  savings?: { query: string; measure?: Measure; everyMs: number; reportTo: string[] } | undefined;
  /** What the alert lacked that a step's text names: rendered as a placeholder (placeholderFor), listed here. */
  textGaps?: string[] | undefined;
  /**
   * After this long without a notification (Alertmanager's repeat_interval plus a margin), the run asks
   * Alertmanager whether its alert is still active; absent (a run started by hand, no Alertmanager
   * configured), it waits for the resolution however long it takes.
   */
  staleAfterMs?: number | undefined;
  /** How the changes come back in stages (playbook/rollback-schema.ts); absent: all at once. */
  rollback?: StagedRollback | undefined;
  /** The more severe playbook of the same family, planned for the same alert, and when it takes over. */
  escalation?: { afterMs: number; plan: RunPlan } | undefined;
  /** The run opens a CAPA for the anomaly (its playbook's family is in finops.capa.families); absent: none. */
  capa?: CapaPlan | undefined;
}

/** Where a run's CAPA is posted and how often its owner is reminded (finops.capa). */
export interface CapaPlan {
  notifyTo: string[];
  remindEveryMs: number;
}

/** finops.capa as planning reads it: the families whose runs open one. */
export interface CapaDefaults extends CapaPlan {
  families: string[];
}

/** A playbook's staged rollback, planned: its guard's params rendered for the alert. */
export interface StagedRollback {
  stages: Array<{ undo: string[]; by: number }>;
  stabiliseMs: number;
  guard: {
    measure: Measure;
    breaksAbove?: number | undefined;
    breaksBelow?: number | undefined;
    everyMs: number;
  } | null;
  holdMs: number;
  maxHoldMs: number;
}

const EXPRESSION = /\{\{\s*([^}]*?)\s*\}\}/g;
const REFERENCE = /^(labels|annotations)\.([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Where a missing label or annotation goes when it is only text (a message, an approval's summary, a
 * war-room's name): a visible placeholder instead, and a note here. Params and queries have no such
 * sink: what they name must be there.
 */
export type TextGaps = string[];

/** What a missing value reads as in text: visible, and naming what was missing. */
export const placeholderFor = (source: 'labels' | 'annotations', name: string) => `(no ${source}.${name})`;

/**
 * Replaces `{{ labels.NAME }}` and `{{ annotations.NAME }}` in every string; values stay data. A missing
 * value is an error, unless `gaps` is given (text): then it renders as a placeholder and is noted there.
 */
export function renderTemplates(
  value: unknown,
  alert: Pick<Alert, 'labels' | 'annotations'>,
  gaps?: TextGaps,
): unknown {
  if (typeof value === 'string') {
    return value.replace(EXPRESSION, (_match, expression: string) => {
      const reference = REFERENCE.exec(expression);
      if (!reference)
        throw new Error(
          `{{ ${expression} }} is not a template expression; write {{ labels.NAME }} or {{ annotations.NAME }}`,
        );
      const [, source, name] = reference as unknown as [string, 'labels' | 'annotations', string];
      const found = Object.hasOwn(alert[source], name) ? alert[source][name] : undefined;
      if (found !== undefined) return found;
      const problem = `the alert has no ${source.slice(0, -1)} "${name}" for {{ ${expression} }}`;
      if (!gaps) throw new Error(problem);
      gaps.push(problem);
      return placeholderFor(source, name);
    });
  }
  if (Array.isArray(value)) return value.map((item) => renderTemplates(item, alert, gaps));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderTemplates(item, alert, gaps)]));
  }
  return value;
}

/**
 * A PromQL query's template: a value goes in escaped for the string literal it stands in (and as an exact regular
 * expression after `=~` or `!~`), so no label can close its matcher and rewrite what the run measures
 * (`x"} or vector(1) or {a="`). An expression outside a string literal, or in a raw one, has no escape: refused.
 */
function renderQuery(query: string, alert: Pick<Alert, 'labels' | 'annotations'>): string {
  const rendered = renderTemplates(query, alert);
  if (rendered === query) return query;
  return query.replace(EXPRESSION, (match, _expression: string, offset: number) => {
    const literal = stringLiteralAt(query, offset);
    if (!literal || literal.quote === '`')
      throw new Error(
        `${match} stands outside a quoted string in the query, where no value can be escaped; write it inside one, e.g. route="${match}"`,
      );
    const value = renderTemplates(match, alert) as string;
    const isRegex = /[=!]~\s*$/.test(query.slice(0, literal.opensAt));
    return promqlStringContent(isRegex ? regexMatchingExactly(value) : value, literal.quote);
  });
}

export type PlanResult = { ok: true; plan: RunPlan } | { ok: false; problem: string };

type Alertish = Pick<Alert, 'labels' | 'annotations'>;

// A Kubernetes label value: 63 characters at most, letters, digits, '-', '_' and '.', a letter or digit at each end.
const KUBERNETES_LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * A label selector's template: a value must be a Kubernetes label value, since one holding `,`, `=`, `!` or a space
 * (`batch,team!=x`) would widen the selector to objects the alert never named. Selectors have no escapes: refused.
 */
function renderSelector(selector: string, alert: Alertish): string {
  return selector.replace(EXPRESSION, (match) => {
    const value = renderTemplates(match, alert) as string;
    if (!KUBERNETES_LABEL_VALUE.test(value))
      throw new Error(
        `${match} is ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}, not a Kubernetes label value (63 characters at most of letters, digits, -, _ and ., a letter or digit at each end): in a label selector it could pick other objects`,
      );
    return value;
  });
}

/** Params whose templates need more than text: each value escaped, or checked, for the language it lands in. */
const TEMPLATED_IN: Partial<
  Record<ActionName | CheckName, Record<string, (template: string, alert: Alertish) => string>>
> = {
  'prometheus.query': { query: renderQuery },
  'kubernetes.suspendBatch': { selector: renderSelector },
};

function renderParams(name: ActionName | CheckName, params: unknown, alert: Alertish): unknown {
  const rendered = renderTemplates(params ?? {}, alert);
  const special = TEMPLATED_IN[name];
  if (!special || typeof params !== 'object' || params === null) return rendered;
  const own = params as Record<string, unknown>;
  const overrides = Object.entries(special).flatMap(([key, render]) =>
    typeof own[key] === 'string' ? [[key, render(own[key], alert)] as const] : [],
  );
  return { ...(rendered as object), ...Object.fromEntries(overrides) };
}

function validParams(name: ActionName | CheckName, params: unknown, alert: Alertish): unknown {
  const schema = stepSpec(name).params;
  const parsed = schema.safeParse(renderParams(name, params, alert));
  if (!parsed.success)
    throw new Error(
      formatIssues(parsed.error, schema)
        .map((issue) => `params.${issue}`)
        .join('; '),
    );
  return parsed.data;
}

const planMeasure = (
  { check, params, fact }: { check: CheckName; params?: unknown; fact: string },
  alert: Alertish,
): Measure => ({ check, params: validParams(check, params, alert), fact });

/**
 * Why the configured gateway cannot make the step's change for this target, when it cannot: the plan skips a step that
 * says `unsupported: skip` and refuses any other (the loader, given the same gateway, refuses it sooner).
 */
function beyondGateway(step: PlaybookStep, target: Target, gateway: GatewayKind | undefined): string | undefined {
  if (!gateway) return undefined;
  const uses = step.action
    ? [{ action: step.action, params: step.params }]
    : (step.adapt?.levels.map(({ params }) => ({ action: step.adapt!.action, params })) ?? []);
  const lacked = uses.flatMap(({ action, params }) =>
    lackedKnobs(gateway, action, params, target.labels.tenant ?? null),
  );
  if (lacked.length === 0) return undefined;
  const reason = `the ${gateway} gateway cannot ${[...new Set(lacked.map(({ knob, why }) => `set ${knob} (${why})`))].join(', nor ')}`;
  if (step.unsupported === 'skip') return reason;
  throw new Error(`${reason}; give the step unsupported: skip, or remove it`);
}

function planStep(
  step: PlaybookStep,
  alert: Alertish,
  target: Target,
  severity: Severity,
  textGaps: TextGaps,
  gateway?: GatewayKind,
): PlannedStep {
  const skip = beyondGateway(step, target, gateway);
  const base = { id: step.id, description: step.description, when: step.when, ...(skip && { skip }) };
  // Text never stops a run: what the alert lacks reads as a placeholder and is noted in the plan.
  const text = (template: string) => {
    const gaps: TextGaps = [];
    const rendered = renderTemplates(template, alert, gaps) as string;
    textGaps.push(...gaps.map((gap) => `step ${step.id}: ${gap}`));
    return rendered;
  };
  if (step.action) {
    const params = validParams(step.action, step.params, alert);
    return {
      ...base,
      kind: 'action',
      action: step.action,
      params,
      objects: objectsOf(step.action, target, params),
      ...(step.unsupported === 'skip' && { skipWhereNotSetUp: true as const }),
    };
  }
  if (step.check)
    return { ...base, kind: 'check', check: step.check, params: validParams(step.check, step.params, alert) };
  if (step.notify) return { ...base, kind: 'notify', to: step.notify.to, message: text(step.notify.message) };
  if (step.warRoom) return { ...base, kind: 'warRoom', name: text(step.warRoom.name), invite: step.warRoom.invite };
  if (step.adapt) {
    const { every, measure, action, levels } = step.adapt;
    const planned = levels.map(({ above, params }) => ({ above, params: validParams(action, params, alert) }));
    return {
      ...base,
      kind: 'adapt',
      everyMs: every,
      measure: planMeasure(measure, alert),
      action,
      levels: planned,
      objects: [...new Set(planned.flatMap(({ params }) => objectsOf(action, target, params)))],
    };
  }
  if (step.verify) {
    const { measure, expect, within, every } = step.verify;
    return { ...base, kind: 'verify', measure: planMeasure(measure, alert), expect, withinMs: within, everyMs: every };
  }
  if (step.approval) {
    const { summary, timeout, onTimeout, onReject, to, approvalsNeeded, remindAfter, escalate } = step.approval;
    return {
      ...base,
      kind: 'approval',
      summary: text(summary),
      timeoutMs: timeout,
      onTimeout: onTimeoutOf(onTimeout, severity),
      onReject,
      to,
      // Until the whole plan is known (approvalsNeededBySteps, in planRun), the declared number or one.
      approvalsNeeded: approvalsNeeded ?? 1,
      remindAfterMs: remindAfter ?? timeout / 2,
      escalate: escalate ? { afterMs: escalate.after, mention: escalate.mention, alsoTo: escalate.alsoTo } : null,
    };
  }
  return { ...base, kind: 'waitUntilResolved' };
}

/** What an approval nobody decided in time comes to. Safe by default: an S1 step nobody approved does not run. */
export const onTimeoutOf = (declared: 'approve' | 'reject' | undefined, severity: Severity): 'approve' | 'reject' =>
  declared ?? (severity === 'S1' ? 'reject' : 'approve');

/**
 * Whether a step's declared params make a destructive change; params its action refuses make none (the loader reports
 * them).
 */
function destructiveChange(action: ActionName, params: unknown): boolean {
  const parsed = stepSpec(action).params.safeParse(params ?? {});
  return parsed.success && isDestructive(action, parsed.data);
}

/**
 * How many distinct people each approval step needs, by step index: what it declares, else, in an
 * S1 playbook, two for an approval that allows a destructive change (refusing traffic, deferring
 * work, deleting data) before the next approval, else one.
 */
export function approvalsNeededBySteps({
  severity,
  steps,
}: Pick<PlaybookSpec, 'severity' | 'steps'>): Map<number, number> {
  const needed = new Map<number, number>();
  steps.forEach((step, index) => {
    if (!step.approval) return;
    const nextApproval = steps.findIndex((later, laterIndex) => laterIndex > index && later.approval !== undefined);
    const destructive = steps
      .slice(index + 1, nextApproval === -1 ? undefined : nextApproval)
      .some(
        ({ action, params, adapt }) =>
          (action !== undefined && destructiveChange(action, params)) ||
          (adapt?.levels.some((level) => destructiveChange(adapt.action, level.params)) ?? false),
      );
    needed.set(index, step.approval.approvalsNeeded ?? (severity === 'S1' && destructive ? 2 : 1));
  });
  return needed;
}

/** Resolves every step of `playbook` for `alert`; the first problem found is reported. */
export function planRun(
  playbook: Playbook,
  alert: Alert,
  target: Target,
  defaults: {
    cooldownMs: number;
    dryRun?: boolean;
    staleAfterMs?: number | undefined;
    gateway?: GatewayKind | undefined;
    capa?: CapaDefaults | undefined;
  },
): PlanResult {
  const { spec } = playbook;
  const steps: PlannedStep[] = [];
  const textGaps: TextGaps = [];
  for (const step of spec.steps) {
    try {
      steps.push(planStep(step, alert, target, spec.severity, textGaps, defaults.gateway));
    } catch (error) {
      return { ok: false, problem: `step ${step.id}: ${(error as Error).message}` };
    }
  }
  for (const [index, needed] of approvalsNeededBySteps(spec)) {
    const step = steps[index];
    if (step?.kind === 'approval') step.approvalsNeeded = needed;
  }
  let savings: RunPlan['savings'];
  if (spec.savings) {
    const { costRate, measure, every: everyMs, reportTo } = spec.savings;
    try {
      if (measure) {
        const planned = planMeasure(measure, alert);
        savings = { query: `${planned.check} ${planned.fact}`, measure: planned, everyMs, reportTo };
      } else {
        const { query } = validParams('prometheus.query', { query: costRate }, alert) as { query: string };
        savings = { query, everyMs, reportTo };
      }
    } catch (error) {
      return { ok: false, problem: `savings.${measure ? 'measure' : 'costRate'}: ${(error as Error).message}` };
    }
  }
  let rollback: StagedRollback | undefined;
  if (spec.rollback) {
    const { stages, stabilise, guard, hold, maxHold } = spec.rollback;
    let plannedGuard: StagedRollback['guard'] = null;
    if (guard) {
      try {
        plannedGuard = {
          measure: planMeasure(guard.measure, alert),
          breaksAbove: guard.breaksAbove,
          breaksBelow: guard.breaksBelow,
          everyMs: guard.every,
        };
      } catch (error) {
        return { ok: false, problem: `rollback.guard.measure: ${(error as Error).message}` };
      }
    }
    rollback = { stages, stabiliseMs: stabilise, guard: plannedGuard, holdMs: hold, maxHoldMs: maxHold };
  }
  return {
    ok: true,
    plan: {
      playbook: {
        name: spec.name,
        digest: playbook.digest,
        file: playbook.file,
        severity: spec.severity,
        description: spec.description,
        dryRun: spec.dryRun || (defaults.dryRun ?? false),
      },
      target,
      cooldownMs: spec.cooldown ?? defaults.cooldownMs,
      steps,
      ...(savings ? { savings } : {}),
      ...(rollback ? { rollback } : {}),
      ...(textGaps.length > 0 ? { textGaps } : {}),
      ...(defaults.staleAfterMs !== undefined ? { staleAfterMs: defaults.staleAfterMs } : {}),
      ...(defaults.capa && spec.family && defaults.capa.families.includes(spec.family)
        ? { capa: { notifyTo: defaults.capa.notifyTo, remindEveryMs: defaults.capa.remindEveryMs } }
        : {}),
    },
  };
}
