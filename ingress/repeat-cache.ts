// What Temporal last accepted for each alert of each run, so that a notification repeating it within a short window
// (Alertmanager's group_interval and repeat_interval, a second HA peer) is answered without a Temporal call. Each
// repeat otherwise costs a signal: a WorkflowExecutionSignaled event and a workflow task in the run's history.
//
// Why absorbing is safe: an entry is written only once Temporal accepted the signal (a signal accepted is delivered),
// its time is never refreshed by a repeat it absorbed, so the run still hears every alert at least once a window and
// its lost-resolution check (engine.staleAlertAfter, hours) keeps its liveness; and a repeat matches only the latest
// thing accepted for that alert and run: a resolve is absorbed only after the same resolve, a new episode (another
// startsAt) or a status the run has not been told never is.
import { createHash } from 'node:crypto';
import type { AlertNotification } from '../alerts/tracker';

/** Entries kept at most: the oldest acceptance is forgotten first (a forgotten entry costs one signal, no more). */
export const DEFAULT_REPEAT_CACHE_ENTRIES = 100_000;

interface Accepted {
  status: AlertNotification['status'];
  startsAt: string;
  at: number;
}

export class RepeatCache {
  // A Map iterates in insertion order, and record() re-inserts: the first entries are the oldest acceptances, so
  // the bound and the expiry both drop from the front, and the cache empties once a storm is over.
  private readonly accepted = new Map<string, Accepted>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = DEFAULT_REPEAT_CACHE_ENTRIES,
    // Monotonic: a wall clock set back would keep entries fresh for longer than the window.
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    this.expire();
    return this.accepted.size;
  }

  /** Whether every notification repeats what Temporal accepted for `workflowId` within the window. */
  allRepeats(workflowId: string, notifications: readonly AlertNotification[]): boolean {
    if (this.windowMs <= 0 || notifications.length === 0) return false;
    this.expire();
    return notifications.every((n) => {
      const last = this.accepted.get(keyOf(workflowId, n));
      return last !== undefined && last.status === n.status && last.startsAt === n.startsAt;
    });
  }

  /** Call once Temporal accepted these notifications for `workflowId`. */
  record(workflowId: string, notifications: readonly AlertNotification[]): void {
    if (this.windowMs <= 0) return;
    const at = this.now();
    for (const { fingerprint, status, startsAt } of notifications) {
      const key = keyOf(workflowId, { fingerprint });
      this.accepted.delete(key);
      this.accepted.set(key, { status, startsAt, at });
    }
    for (const key of this.accepted.keys()) {
      if (this.accepted.size <= this.maxEntries) break;
      this.accepted.delete(key);
    }
  }

  private expire(): void {
    const oldest = this.now() - this.windowMs;
    for (const [key, { at }] of this.accepted) {
      if (at > oldest) break;
      this.accepted.delete(key);
    }
  }
}

/** Keys longer than this are kept as their SHA-256: a fingerprint is free text, and the cache holds 100k of them. */
const MAX_PLAIN_KEY = 256;

// The id's length in front keeps two different pairs from meeting.
function keyOf(workflowId: string, { fingerprint }: Pick<AlertNotification, 'fingerprint'>): string {
  const key = `${workflowId.length}:${workflowId}${fingerprint}`;
  return key.length <= MAX_PLAIN_KEY ? key : `sha256:${createHash('sha256').update(key).digest('base64')}`;
}
