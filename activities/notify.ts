// Telling people: notifications and war-rooms, through the configured Notifier.
import type { Notification, Notifier, WarRoomRequest } from '../notifications/notifier';

export interface NotifyActivities {
  'notify.send': (notification: Notification) => Promise<void>;
  'warRoom.open': (request: WarRoomRequest) => Promise<{ location: string }>;
}

export function createNotifyActivities(notifier: Notifier): NotifyActivities {
  return {
    'notify.send': (notification) => notifier.notify(notification),
    'warRoom.open': (request) => notifier.openWarRoom(request),
  };
}
