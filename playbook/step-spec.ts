// What every action or check a playbook step may name declares about itself. Each actuator
// (gateway/, kubernetes/, storage/) exports its own specs; playbook/step-registry.ts gathers them.
import type { z } from 'zod';
import type { Target, TargetKindName } from '../alerts/target';

export interface StepSpec {
  description: string;
  /** The target kinds the step works on; `validate` refuses a playbook that targets another. */
  targets: readonly TargetKindName[];
  /**
   * Other target kinds the step works on when a parameter names what to act on: a capacity
   * playbook targets a deployment, and its gateway steps name the route in `params.route`.
   */
  namedBy?: { param: string; targets: readonly TargetKindName[] };
  params: z.ZodType;
}

/** An action's spec: a step spec that also names what a change touches. */
export interface ActionSpec extends StepSpec {
  /**
   * The objects a change with these (validated) params makes on this target, e.g.
   * `gateway/regions/chat`. While one run holds an object, another run's change to it is refused:
   * two runs never stack changes on one object and then undo each other's.
   */
  objects(target: Target, params: never): string[];
  /**
   * Whether a change with these params refuses traffic, defers work or deletes data: an S1 approval of it needs two
   * people.
   */
  destructive?(params: never): boolean;
  /**
   * For an action that sets a number (replicas, bounds, weights) and undoes itself: the params that take a change
   * `by` (0 to 1) of the way back from `applied` (what it set) to `undo` (what was there), both its own params. A
   * staged rollback steps with it; an action without it comes back all at once.
   */
  stepBack?(undo: never, applied: never, by: number): unknown;
}
