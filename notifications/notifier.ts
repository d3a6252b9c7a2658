// How runs tell people what they do. Without Slack configured, notifications go to the log as
// structured JSON, so the embedded stack works end to end.
import type { Logger } from '../logging/logger';

export interface RunReference {
  workflowId: string;
  playbook: string;
  target: string;
  severity: string;
}

export interface Notification {
  to: string[];
  message: string;
  run: RunReference;
}

export interface WarRoomRequest {
  name: string;
  invite: string[];
  run: RunReference;
}

export interface Notifier {
  notify(notification: Notification): Promise<void>;
  /** Opens (or finds, if it exists) the war-room named `name`; answers where people meet. */
  openWarRoom(request: WarRoomRequest): Promise<{ location: string }>;
}

export class LogNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  notify({ to, message, run }: Notification): Promise<void> {
    this.logger.info({ notification: { to, message }, run }, `notify ${to.join(', ')}: ${message}`);
    return Promise.resolve();
  }

  openWarRoom({ name, invite, run }: WarRoomRequest): Promise<{ location: string }> {
    this.logger.warn({ warRoom: { name, invite }, run }, `war-room ${name}: paging ${invite.join(', ')}`);
    return Promise.resolve({ location: `log (no Slack configured): war-room ${name}` });
  }
}
