// The alerts the bench sends, and posting them to the ingress as Alertmanager would.
import type { Alert } from '../alerts/alertmanager';
import { TOKEN } from './stack';
import { mulberry32 } from '../simulator/platform/random';

const STARTS_AT = '2026-11-28T10:00:00Z';

/** One alert of the fixture playbook cap-context, whose target is route chat and `tenant`. */
export function alert(tenant: string, instance = 0, status: 'firing' | 'resolved' = 'firing'): Alert {
  return {
    status,
    labels: {
      alertname: 'LLMInputTokensPerRequestHigh',
      severity: 'S2',
      route: 'chat',
      tenant,
      model: 'llama-3-70b',
      instance: `pod-${instance}`,
    },
    annotations: {},
    startsAt: STARTS_AT,
    endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-28T10:05:00Z',
    generatorURL: '',
    fingerprint: `${tenant}-${instance}`,
  };
}

function payload(alerts: Alert[]): string {
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="LLMInputTokensPerRequestHigh"}',
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'finops-soar',
    groupLabels: { alertname: 'LLMInputTokensPerRequestHigh' },
    commonLabels: { alertname: 'LLMInputTokensPerRequestHigh', severity: 'S2', route: 'chat' },
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts,
  });
}

export interface Delivery {
  /** ms each attempt took until its answer. */
  attempts: number[];
  /** Answers other than 200 (503 overloaded, 429 rate-limited), each retried as Alertmanager would. */
  refused: number;
}

/** POSTs one notification until it is answered 200; 5xx and 429 are retried after 200 ms. */
export async function post(url: string, alerts: Alert[]): Promise<Delivery> {
  const body = payload(alerts);
  const delivery: Delivery = { attempts: [], refused: 0 };
  for (;;) {
    const start = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body,
    });
    const text = await response.text();
    delivery.attempts.push(performance.now() - start);
    if (response.status === 200) return delivery;
    if (response.status !== 429 && response.status < 500)
      throw new Error(`webhook answered ${response.status}: ${text}`);
    delivery.refused++;
    if (delivery.refused > 50) throw new Error(`webhook refused a notification 50 times: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A small seeded PRNG (the simulator's mulberry32), so every run sends the same storm. */
export const random = mulberry32;

/** Runs `task` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await task(items[index]!, index);
      }
    }),
  );
}
