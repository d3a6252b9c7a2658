// How a run waits (for a decision, a resolution, a cooldown, an escalation time): on a condition
// with a deadline, waking meanwhile for the work that has its own schedule — adapt steps while the
// alert fires, and savings samples while changes are in force.
import { condition } from '@temporalio/workflow';
import { adjust } from './adapt';
import type { RunContext } from './run-context';
import { sampleCost } from './savings-sampling';

/** Waits until `done` holds (true) or `timeoutMs` passes (false), showing the deadline in the status. */
export async function waitUntil(ctx: RunContext, done: () => boolean, timeoutMs: number): Promise<boolean> {
  ctx.status.nextDeadline = new Date(Date.now() + timeoutMs).toISOString();
  try {
    return await waitAdjusting(ctx, done, timeoutMs);
  } finally {
    ctx.status.nextDeadline = null;
  }
}

/**
 * Waits until `done` holds (true) or `timeoutMs` passes (false). Meanwhile, while the alert
 * fires, each adapt step measures and adjusts on its own schedule.
 */
export async function waitAdjusting(ctx: RunContext, done: () => boolean, timeoutMs?: number): Promise<boolean> {
  const { status } = ctx;
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  for (;;) {
    const due = ctx.firing() ? status.adapting.map(({ nextAt }) => Date.parse(nextAt)) : [];
    if (status.savings?.nextAt) due.push(Date.parse(status.savings.nextAt));
    const wakeAt = Math.min(deadline ?? Infinity, ...due);
    if (wakeAt === Infinity) return condition(done).then(() => true);
    // A timer needs a positive duration; 1 ms stands for "due now".
    if (await condition(done, Math.max(1, wakeAt - Date.now()))) return true;
    if (deadline !== undefined && Date.now() >= deadline) return false;
    for (const adapting of [...status.adapting]) {
      if (ctx.firing() && Date.parse(adapting.nextAt) <= Date.now()) await adjust(ctx, adapting);
    }
    if (status.savings?.nextAt && Date.parse(status.savings.nextAt) <= Date.now()) await sampleCost(ctx);
  }
}
