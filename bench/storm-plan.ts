// The storm row 4 sends, the same every run (seeded): 2,000 distinct cost targets of 1-4 alerts each,
// in notifications of 1-50 alerts where several alerts may share a target, mixing in repeats of
// alerts already sent and some resolves, as a real storm and two Alertmanager peers would.
import type { Alert } from '../alerts/alertmanager';
import { alert, random } from './alerts';

export interface StormNotification {
  alerts: Alert[];
  /** Earlier notifications whose alerts this one repeats: it is sent once they were answered. */
  after: number[];
}

export interface StormPlan {
  notifications: StormNotification[];
  tenants: string[];
  /** Every alert's fingerprint → its tenant and whether it was resolved last. */
  alerts: Map<string, { tenant: string; resolved: boolean }>;
  deliveries: number;
}

const REPEAT = 0.6; // share of a notification's slots that repeat an alert already sent
const RESOLVE = 0.05; // share of those repeats that resolve it
const REPEAT_DISTANCE = 64; // repeats only alerts sent at least this many notifications before

export function stormPlan(targets: number, seed = 14): StormPlan {
  const rand = random(seed);
  const tenants = Array.from({ length: targets }, (_, i) => `storm-${String(i).padStart(4, '0')}`);
  const fresh = tenants.flatMap((tenant) =>
    Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => ({ tenant, i })),
  );
  const alerts = new Map<string, { tenant: string; resolved: boolean }>();
  const sent: Array<{ tenant: string; i: number; at: number }> = [];
  const notifications: StormNotification[] = [];
  let deliveries = 0;
  let next = 0;
  while (next < fresh.length) {
    const index = notifications.length;
    const eligible = sent.findIndex(({ at }) => at > index - REPEAT_DISTANCE);
    const repeatable = eligible === -1 ? sent.length : eligible;
    const size = 1 + Math.floor(rand() * 50);
    const chosen = new Map<string, Alert>();
    const after = new Set<number>();
    for (let slot = 0; slot < size; slot++) {
      if (repeatable > 0 && rand() < REPEAT) {
        const { tenant, i, at } = sent[Math.floor(rand() * repeatable)]!;
        const known = alerts.get(`${tenant}-${i}`)!;
        if (!known.resolved && rand() < RESOLVE) known.resolved = true;
        chosen.set(`${tenant}-${i}`, alert(tenant, i, known.resolved ? 'resolved' : 'firing'));
        after.add(at);
      } else if (next < fresh.length) {
        const { tenant, i } = fresh[next++]!;
        alerts.set(`${tenant}-${i}`, { tenant, resolved: false });
        sent.push({ tenant, i, at: index });
        chosen.set(`${tenant}-${i}`, alert(tenant, i));
      }
    }
    if (chosen.size === 0) continue;
    deliveries += chosen.size;
    notifications.push({ alerts: [...chosen.values()], after: [...after] });
  }
  return { notifications, tenants, alerts, deliveries };
}
