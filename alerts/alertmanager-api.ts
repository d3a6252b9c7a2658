// Reads a notification group's full alert set from Alertmanager's API when the webhook payload
// was truncated (webhook_config max_alerts): without it the alerts past the limit would be lost.
import axios from 'axios';
import { z } from 'zod';
import type { Alert, WebhookPayload } from './alertmanager';

// GET /api/v2/alerts answers "gettable alerts"; only the fields used here are checked.
const gettableAlertsSchema = z.array(
  z.object({
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()).default({}),
    startsAt: z.string(),
    endsAt: z.string(),
    generatorURL: z.string().default(''),
    fingerprint: z.string(),
  }),
);

const quote = (value: string) => JSON.stringify(value);
const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The firing alerts of `payload`'s group, read from the first of `baseUrls` (the configured
 * Alertmanager peers, as the ingress reaches them) that answers, merged with the alerts the payload
 * carried. The payload's own externalURL is never fetched: whoever can post a notification must not
 * be able to make the ingress call an address of their choosing.
 */
export async function completeTruncatedAlerts(
  payload: WebhookPayload,
  options: { baseUrls: readonly string[]; timeoutMs: number },
): Promise<Alert[]> {
  const failures: string[] = [];
  for (const baseUrl of options.baseUrls) {
    try {
      return await readGroupFrom(baseUrl.replace(/\/+$/, ''), payload, options.timeoutMs);
    } catch (error) {
      failures.push(`${baseUrl}: ${(error as Error).message}`);
    }
  }
  throw new Error(failures.join('; '));
}

async function readGroupFrom(baseUrl: string, payload: WebhookPayload, timeoutMs: number): Promise<Alert[]> {
  const params = new URLSearchParams({
    active: 'true',
    silenced: 'false',
    inhibited: 'false',
    receiver: `^${escapeRegex(payload.receiver)}$`,
  });
  for (const [name, value] of Object.entries(payload.groupLabels)) params.append('filter', `${name}=${quote(value)}`);
  const response = await axios.get<unknown>(`${baseUrl}/api/v2/alerts`, { params, timeout: timeoutMs });
  const fetched = gettableAlertsSchema.parse(response.data);

  const carried = new Set(payload.alerts.map((alert) => alert.fingerprint));
  const missing: Alert[] = fetched
    .filter((alert) => !carried.has(alert.fingerprint))
    // Alertmanager's API reports the active alert's scheduled end; a webhook shows firing alerts with the zero time.
    .map((alert) => ({ ...alert, status: 'firing', endsAt: '0001-01-01T00:00:00Z' }));
  return [...payload.alerts, ...missing];
}

/**
 * Which of `fingerprints` Alertmanager still holds as active (firing, silenced or inhibited: all
 * still true of the platform), asking the configured peers in turn. Throws when none answers.
 */
export async function activeFingerprints(
  fingerprints: readonly string[],
  options: { baseUrls: readonly string[]; timeoutMs: number },
): Promise<string[]> {
  if (options.baseUrls.length === 0) throw new Error('no Alertmanager is configured (ingress.alertmanagerUrl)');
  const failures: string[] = [];
  for (const baseUrl of options.baseUrls) {
    try {
      const response = await axios.get<unknown>(`${baseUrl.replace(/\/+$/, '')}/api/v2/alerts`, {
        params: { active: 'true', silenced: 'true', inhibited: 'true', unprocessed: 'true' },
        timeout: options.timeoutMs,
      });
      const held = new Set(gettableAlertsSchema.parse(response.data).map((alert) => alert.fingerprint));
      return fingerprints.filter((fingerprint) => held.has(fingerprint));
    } catch (error) {
      failures.push(`${baseUrl}: ${(error as Error).message}`);
    }
  }
  throw new Error(failures.join('; '));
}
