// POST /alerts/alertmanager: turns one Alertmanager notification into playbook runs.
// Alertmanager retries only on 5xx and transport errors and drops 4xx, so: 400 for a payload that
// can never work, 2xx only once Temporal has accepted every signal (or, for an unchanged repeat, had
// accepted it within ingress.repeatWindow), and 5xx (503 when Temporal is unreachable or we are
// overloaded) whenever a retry can succeed. Every run has a deterministic id and absorbs repeats, so a
// retried or duplicated notification never applies anything twice. One Temporal call per run, not per
// alert: notification-dispatch.ts.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { webhookPayloadSchema, type Alert, type WebhookPayload } from '../alerts/alertmanager';
import { completeTruncatedAlerts } from '../alerts/alertmanager-api';
import { routeAlerts, type RunDefaults } from '../alerts/routing';
import type { Playbook } from '../playbook/playbook-schema';
import { formatIssues } from '../validation/issues';
import { DEFAULT_REPEAT_WINDOW_MS } from '../config/config-schema';
import type { IngressMetrics } from '../observability/ingress-metrics';
import { dispatchNotification } from './notification-dispatch';
import { RepeatCache } from './repeat-cache';

export interface WebhookOptions {
  client: Client;
  taskQueue: string;
  playbooks: readonly Playbook[];
  runDefaults: RunDefaults;
  /** How long to wait for Temporal (and for Alertmanager's API) before answering 503. */
  temporalTimeoutMs: number;
  /** The Alertmanager peers to read a truncated notification's full alert set from; none: not read. */
  alertmanagerUrls?: readonly string[] | undefined;
  /** Counts what became of each alert. */
  metrics: IngressMetrics;
  /**
   * How long what Temporal accepted absorbs an unchanged repeat of it (ingress.repeatWindow; 0: never). Default
   * DEFAULT_REPEAT_WINDOW_MS, as the configuration's.
   */
  repeatWindowMs?: number | undefined;
}

/** The notification's alerts, read in full from the configured Alertmanager when it was truncated (max_alerts). */
async function allAlerts(
  payload: WebhookPayload,
  options: WebhookOptions,
): Promise<{ alerts: Alert[]; incomplete?: string; retry: boolean }> {
  if (payload.truncatedAlerts === 0) return { alerts: payload.alerts, retry: false };
  const left = `the notification left out ${payload.truncatedAlerts} alert(s) (max_alerts)`;
  const baseUrls = options.alertmanagerUrls ?? [];
  // Nothing to ask: handled with what it carries, and said; a retry would bring no more.
  if (baseUrls.length === 0) {
    return {
      alerts: payload.alerts,
      retry: false,
      incomplete: `${left} and no Alertmanager is configured to read them from (the payload's externalURL ${payload.externalURL} is not fetched); set ingress.alertmanagerUrl, or raise max_alerts`,
    };
  }
  try {
    return {
      alerts: await completeTruncatedAlerts(payload, { baseUrls, timeoutMs: options.temporalTimeoutMs }),
      retry: false,
    };
  } catch (error) {
    return {
      alerts: payload.alerts,
      retry: true,
      incomplete: `${left} and Alertmanager's API could not be read (${(error as Error).message}); set ingress.alertmanagerUrl to addresses the ingress can reach`,
    };
  }
}

export function registerAlertmanagerWebhook(app: FastifyInstance, options: WebhookOptions): void {
  // One per ingress process: replicas each absorb what they accepted themselves, and a restart forgets (costing a signal).
  const repeats = new RepeatCache(options.repeatWindowMs ?? DEFAULT_REPEAT_WINDOW_MS);
  const dispatchOptions = { client: options.client, taskQueue: options.taskQueue, repeats };
  app.post('/alerts/alertmanager', async (request, reply) => {
    const parsed = webhookPayloadSchema.safeParse(request.body);
    if (!parsed.success) {
      return reply.code(400).send({
        error: 'invalid Alertmanager webhook payload',
        problems: formatIssues(parsed.error, webhookPayloadSchema),
      });
    }
    const payload = parsed.data;
    const { alerts, incomplete, retry } = await allAlerts(payload, options);
    if (incomplete)
      request.log.warn({ groupKey: payload.groupKey, truncatedAlerts: payload.truncatedAlerts }, incomplete);

    const decisions = routeAlerts(alerts, options.playbooks, options.runDefaults);
    const outcomes = await options.client.withDeadline(Date.now() + options.temporalTimeoutMs, () =>
      dispatchNotification(decisions, dispatchOptions),
    );

    for (const outcome of outcomes) {
      options.metrics.countAlert(outcome.outcome, 'playbook' in outcome ? outcome.playbook : '');
      if (outcome.outcome === 'rejected') request.log.error(outcome, 'alert matched a playbook but cannot run it');
      if (outcome.outcome === 'started-or-signalled' && outcome.textGaps)
        request.log.warn(outcome, "the alert lacks values its playbook's text names; placeholders stand in");
      if (outcome.outcome === 'failed') request.log.error(outcome, 'Temporal did not accept the alert');
    }
    const failed = outcomes.filter((o) => o.outcome === 'failed');
    if (failed.length > 0) {
      const retryable = failed.every((o) => o.retryable);
      return reply
        .code(retryable ? 503 : 500)
        .header('Retry-After', '10')
        .send({ error: 'Temporal did not accept every alert; Alertmanager will retry this notification', outcomes });
    }
    if (incomplete && retry)
      return reply
        .code(503)
        .header('Retry-After', '10')
        .send({ error: `${incomplete}; the alerts it carried were handled, and Alertmanager will retry`, outcomes });
    return reply.code(200).send({ status: 'accepted', outcomes, ...(incomplete && { warning: incomplete }) });
  });
}
