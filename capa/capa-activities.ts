// Telling people about a CAPA through the configured notifier (Slack, or the log), with the links to the CAPA and its
// run in the Temporal UI added here, where the UI's address is known.
import type { CapaReminder, MessageRef, Notifier } from '../notify/notifier';
import { told } from '../notify/notify-activities';
import type { CapaStatus } from '../workflows/capa/definitions';

export interface CapaActivities {
  'capa.post': (status: CapaStatus) => Promise<MessageRef>;
  /** Replaces the posted message with the CAPA as it is now; nothing where nothing was posted. */
  'capa.update': (status: CapaStatus) => Promise<void>;
  'capa.remind': (reminder: CapaReminder & { status: CapaStatus }) => Promise<void>;
}

export function createCapaActivities(notifier: Notifier, runUrl: (workflowId: string) => string): CapaActivities {
  const notice = (status: CapaStatus) => ({
    status,
    links: { capa: runUrl(status.capaId), run: runUrl(status.opening.run.workflowId) },
  });
  return {
    'capa.post': (status) => told(() => notifier.postCapa(notice(status))),
    'capa.update': (status) => told(() => notifier.updateCapa(status.message, notice(status))),
    'capa.remind': ({ status, overdue }) =>
      told(() => notifier.remindCapa(status.message, notice(status), { overdue })),
  };
}
