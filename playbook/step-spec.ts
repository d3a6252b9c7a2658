// What every action or check a playbook step may name declares about itself. Each actuator
// (gateway/, kubernetes/, storage/) exports its own specs; playbook/actions.ts gathers them.
import type { z } from 'zod';
import type { TargetKindName } from '../alerts/target';

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
