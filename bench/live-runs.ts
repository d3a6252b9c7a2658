// Row 5: 5,000 live runs waiting for resolution, on a stack of their own whose worker may run them
// all at once (engine.maxConcurrentRuns 10,000): the worker's RSS once every run has made its change, and when 1,000
// had. The worker's RSS grows with each run that has changed (0.3-0.4 MiB a run here), so an RSS read at a fixed
// time measures how far the machine got, not the code: two runs of the same commit read 798 and 1,192 MiB after
// 120 s with 1,518 and 2,909 runs changed.
import { setTimeout as sleep } from 'node:timers/promises';
import { alert, pool, post } from './alerts';
import { rssMiB, type Stack } from './stack';

export const LIVE_RUNS = 5_000;
const PER_NOTIFICATION = 50;
// Long enough for all 5,000 on 2 busy cores (about 17 runs a second).
const WAIT_MS = 600_000;
/** The fixed point the RSS is also read at, comparable across runs that got further or less far. */
export const CHANGED_MARK = 1_000;

export async function liveRuns(stack: Stack) {
  const tenants = Array.from({ length: LIVE_RUNS }, (_, i) => `live-${String(i).padStart(4, '0')}`);
  const notifications = Array.from({ length: LIVE_RUNS / PER_NOTIFICATION }, (_, i) =>
    tenants.slice(i * PER_NOTIFICATION, (i + 1) * PER_NOTIFICATION).map((tenant) => alert(tenant)),
  );
  const pid = stack.worker.pid!;
  const idle = rssMiB(pid);
  let peak = idle;
  let atMark: number | null = null;
  const sampler = setInterval(() => {
    const rss = rssMiB(pid);
    peak = Math.max(peak, rss);
    if (atMark === null && stack.store.firstChange.size >= CHANGED_MARK) atMark = rss;
  }, 500);
  const start = performance.now();
  await pool(notifications, 8, async (alerts) => {
    await post(stack.webhookUrl, alerts);
  });
  const sentIn = (performance.now() - start) / 1000;
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline && stack.store.firstChange.size < LIVE_RUNS) await sleep(1_000);
  const changedIn = (performance.now() - start) / 1000;
  const running = await stack.env.client.workflow.count(`WorkflowType = 'playbookRun' AND ExecutionStatus = 'Running'`);
  await sleep(5_000); // what it keeps, once the burst's tasks are done
  clearInterval(sampler);
  return {
    idle,
    peak: Math.max(peak, rssMiB(pid)),
    end: rssMiB(pid),
    atMark,
    running: running.count,
    changed: stack.store.firstChange.size,
    sentIn,
    changedIn,
  };
}
