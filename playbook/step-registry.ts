// What playbook steps may name: actions (change something, reversibly) and checks (read a fact).
// Each actuator declares its own; the activity of the same name implements each one (activities/).
import type { z } from 'zod';
import type { Target } from '../alerts/target';
import { FINOPS_CHECKS } from '../finops/finops-steps';
import { GATEWAY_ACTIONS, GATEWAY_CHECKS } from '../gateway/gateway-steps';
import { KUBERNETES_ACTIONS, KUBERNETES_CHECKS } from '../kubernetes/kubernetes-steps';
import { POLICY_CHECKS } from '../policy/policy-steps';
import { PROMETHEUS_CHECKS } from '../prometheus/prometheus-steps';
import { STORAGE_ACTIONS, STORAGE_CHECKS } from '../storage/lifecycle-steps';
import type { ActionSpec, StepSpec } from './step-spec';

export const ACTIONS = { ...GATEWAY_ACTIONS, ...KUBERNETES_ACTIONS, ...STORAGE_ACTIONS } as const satisfies Record<
  string,
  ActionSpec
>;

export const CHECKS = {
  ...GATEWAY_CHECKS,
  ...FINOPS_CHECKS,
  ...KUBERNETES_CHECKS,
  ...POLICY_CHECKS,
  ...PROMETHEUS_CHECKS,
  ...STORAGE_CHECKS,
} as const satisfies Record<string, StepSpec>;

export type ActionName = keyof typeof ACTIONS;
export type CheckName = keyof typeof CHECKS;
export const ACTION_NAMES = Object.keys(ACTIONS) as [ActionName, ...ActionName[]];
export const CHECK_NAMES = Object.keys(CHECKS) as [CheckName, ...CheckName[]];
type Steps = typeof ACTIONS & typeof CHECKS;
export type StepParams<Name extends ActionName | CheckName> = z.output<Steps[Name]['params']>;

/** The shared objects a change by `action` with these params makes on `target` (see ActionSpec). */
export const objectsOf = (action: ActionName, target: Target, params: unknown): string[] =>
  (ACTIONS[action] as ActionSpec as { objects(target: Target, params: unknown): string[] }).objects(target, params);

/** Whether a change by `action` with these params refuses traffic, defers work or deletes data. */
export const isDestructive = (action: ActionName, params: unknown): boolean =>
  (ACTIONS[action] as ActionSpec as { destructive?(params: unknown): boolean }).destructive?.(params) ?? false;

// Whether and how a change comes back part of the way: playbook/step-back.ts, which workflow code imports.
export { stepBackParams, stepsBack } from './step-back';

/** The spec of the action or check a step names. */
export const stepSpec = (name: ActionName | CheckName): StepSpec =>
  name in ACTIONS ? ACTIONS[name as ActionName] : CHECKS[name as CheckName];
