// Flap memory (DESIGN.md, "Rollback that holds"): a run that rolled back after its alert resolved tells its target's
// limits shard, which remembers it for engine.flapMemory.within; the target's next run learns it with its admission
// (no extra call) and holds its changes longer — its cooldown and stabilisation windows multiplied, more for each
// flap in a row. Pure but for the types: the run's modules call these.
import type { FlapMemorySettings, TargetRollback } from '../limits/protocol';
import type { FlapMemory } from './definitions';

const minutes = (ms: number) => `${Math.round(ms / 60_000)}m`;

/** What a run makes of its target's last rollback: how many flaps in a row, and how much longer it holds. */
export function flapFrom(last: TargetRollback, settings: FlapMemorySettings): FlapMemory {
  const flaps = last.flaps + 1;
  return {
    previousRun: `${last.workflowId} (run ${last.runId})`,
    rolledBackAt: last.at,
    flaps,
    holdFactor: Math.min(settings.factor ** flaps, settings.maxFactor),
  };
}

/** The flap in a line, for the memo and the log. */
export const describeFlap = (flap: FlapMemory, cooldownMs: number) =>
  `fired again after ${flap.previousRun} rolled back at ${flap.rolledBackAt} (flap ${flap.flaps} in a row): holds its changes ${flap.holdFactor}× longer, cooldown ${minutes(cooldownMs * flap.holdFactor)} instead of ${minutes(cooldownMs)}`;
