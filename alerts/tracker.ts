// Tracks the alerts behind one target across repeated, duplicated and out-of-order notifications.
// Pure and deterministic: the playbook workflow keeps this state and carries it across
// continue-as-new. One alert (fingerprint) goes through episodes, each named by its startsAt.

export interface AlertNotification {
  fingerprint: string;
  status: 'firing' | 'resolved';
  startsAt: string;
  endsAt: string;
}

export interface TrackedAlerts {
  [fingerprint: string]: { status: 'firing' | 'resolved'; startsAt: string };
}

/**
 * What a notification meant:
 * - `fired`: a new alert or a new episode of one (the target is now firing);
 * - `repeated`: the same episode again (group_interval, repeat_interval, HA peers);
 * - `resolved`: an episode ended;
 * - `stale`: about an episode already superseded or resolved, e.g. a late copy from an HA peer.
 */
export type NotificationEffect = 'fired' | 'repeated' | 'resolved' | 'stale';

const episodeTime = (startsAt: string) => Date.parse(startsAt);

/** Records `notification` in `alerts` (mutating it) and says what it meant. */
export function recordNotification(alerts: TrackedAlerts, notification: AlertNotification): NotificationEffect {
  const known = alerts[notification.fingerprint];
  const sameEpisode = known !== undefined && episodeTime(known.startsAt) === episodeTime(notification.startsAt);
  if (known && episodeTime(notification.startsAt) < episodeTime(known.startsAt)) return 'stale';

  if (notification.status === 'firing') {
    if (sameEpisode) return known.status === 'firing' ? 'repeated' : 'stale';
    alerts[notification.fingerprint] = { status: 'firing', startsAt: notification.startsAt };
    return 'fired';
  }
  if (sameEpisode && known.status === 'resolved') return 'repeated';
  alerts[notification.fingerprint] = { status: 'resolved', startsAt: notification.startsAt };
  return 'resolved';
}

export const isFiring = (alerts: TrackedAlerts) => Object.values(alerts).some((alert) => alert.status === 'firing');
