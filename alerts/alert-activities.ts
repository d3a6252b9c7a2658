// Asking Alertmanager about a run's alerts: the workflow's check for a lost resolution (an alert
// that stopped repeating: send_resolved off, a notification lost, Alertmanager's state wiped).
import { ApplicationFailure } from '@temporalio/common';
import { activeFingerprints } from './alertmanager-api';

export interface AlertmanagerDeps {
  /** The configured peers (ingress.alertmanagerUrl), asked in turn. */
  urls: readonly string[];
  timeoutMs: number;
}

export interface AlertActivities {
  /** Which of the run's firing alerts Alertmanager still holds; fails (retryable) when no peer answers. */
  'alerts.stillActive': (asked: { fingerprints: string[] }) => Promise<{ active: string[] }>;
}

export function createAlertActivities({ urls, timeoutMs }: AlertmanagerDeps): AlertActivities {
  return {
    'alerts.stillActive': async ({ fingerprints }) => {
      try {
        return { active: await activeFingerprints(fingerprints, { baseUrls: urls, timeoutMs }) };
      } catch (error) {
        throw ApplicationFailure.retryable(
          `Alertmanager could not be asked: ${(error as Error).message}`,
          'AlertmanagerUnreachable',
        );
      }
    },
  };
}
