// Waiting for the resolution without trusting that it will come: Alertmanager repeats a firing alert
// every repeat_interval, so a run that hears nothing for longer (plan.staleAfterMs) asks Alertmanager
// whether its alerts are still active. Gone or resolved there: the run resolves them itself, and the
// cooldown and rollback follow. Alertmanager unreachable: the changes stay, the run's people are told
// once, and it asks again later. A resolution lost (send_resolved off, a dropped notification,
// Alertmanager's state wiped) never leaves a change in force for ever.
import { isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { recordNotification } from '../../alerts/tracker';
import { failureMessage } from '../failures';
import { tell, tellPeople } from './activity-proxies';
import { seconds, type RunContext } from './run-context';
import { waitAdjusting } from './waiting';

// One question, a few tries: an unreachable Alertmanager is an answer too (the run asks again later).
const askAlertmanager = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});

/** How the status says the run resolved its alerts itself (the rollback's reason repeats it). */
export const RESOLVED_BY_THE_RUN = 'resolved by the run';

/** After an unanswered question, the next comes this much sooner than a whole stale interval. */
const RETRY_FRACTION = 4;

/** Everyone the playbook tells or asks: who hears that the run cannot check its alert. */
const peopleOf = ({ plan }: RunContext) => [
  ...new Set(plan.steps.flatMap((step) => (step.kind === 'notify' || step.kind === 'approval' ? step.to : []))),
];

/** Waits until the alert resolves (or the history is full), asking Alertmanager when notifications stop. */
export async function waitForResolution(ctx: RunContext): Promise<void> {
  const { plan, status } = ctx;
  const done = () => !ctx.firing() || ctx.historyFull();
  const staleAfterMs = plan.staleAfterMs;
  // A resolution the run inferred before (then a re-fire during the cooldown) no longer explains the next one.
  if (status.staleness?.endsWith(RESOLVED_BY_THE_RUN)) {
    status.staleness = null;
    delete status.lostResolutionCheck;
  }
  // Runs planned before the check (or without an Alertmanager to ask) wait as they always did.
  if (staleAfterMs === undefined || done() || !patched('lost-resolution-check')) {
    await waitAdjusting(ctx, done);
    return;
  }
  status.lastNotificationAt ??= new Date().toISOString();
  const check = (status.lostResolutionCheck ??= { nextAskAt: null, toldUnreachable: false });
  // The next question: a whole interval after the last notification, and not before `check.nextAskAt`.
  const dueAt = () =>
    Math.max(Date.parse(status.lastNotificationAt!) + staleAfterMs, check.nextAskAt ? Date.parse(check.nextAskAt) : 0);
  for (;;) {
    if (await waitAdjusting(ctx, done, Math.max(1, dueAt() - Date.now()))) return;
    // A notification came meanwhile: the alert is alive, and the question moves with it.
    if (Date.now() < dueAt()) continue;
    const firing = Object.entries(status.alerts).filter(([, alert]) => alert.status === 'firing');
    const silence = `no notification for ${seconds(Date.now() - Date.parse(status.lastNotificationAt))}`;
    let active: string[];
    try {
      ({ active } = await askAlertmanager['alerts.stillActive']({ fingerprints: firing.map(([id]) => id) }));
    } catch (error) {
      if (isCancellation(error)) throw error;
      check.nextAskAt = new Date(Date.now() + staleAfterMs / RETRY_FRACTION).toISOString();
      status.staleness = `${silence}; Alertmanager could not be asked (${failureMessage(error)}): the changes stay, asking again at ${check.nextAskAt}`;
      log.warn('lost-resolution check: Alertmanager unreachable', { staleness: status.staleness });
      ctx.summarize();
      const to = peopleOf(ctx);
      if (!check.toldUnreachable && to.length > 0) {
        check.toldUnreachable = true;
        const message = `${plan.playbook.name} on ${plan.target.key}: ${status.staleness}.`;
        await tellPeople('tell that Alertmanager cannot be asked', () =>
          tell['notify.send']({ to, message, run: ctx.run }),
        );
      }
      continue;
    }
    check.toldUnreachable = false;
    check.nextAskAt = new Date(Date.now() + staleAfterMs).toISOString();
    if (active.length > 0) {
      status.staleness = `${silence}; Alertmanager still holds ${active.length} of the run's alert(s): the changes stay`;
      ctx.summarize();
      continue;
    }
    const now = new Date().toISOString();
    for (const [fingerprint, { startsAt }] of firing) {
      recordNotification(status.alerts, { fingerprint, status: 'resolved', startsAt, endsAt: now });
    }
    status.staleness = `${silence} and Alertmanager no longer holds the alert: ${RESOLVED_BY_THE_RUN}`;
    log.warn('lost resolution: Alertmanager no longer holds the alert', { fingerprints: firing.map(([id]) => id) });
    ctx.summarize();
    return;
  }
}
