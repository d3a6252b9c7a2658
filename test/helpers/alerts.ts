// Alertmanager alerts and webhook payloads as Alertmanager 0.25 sends them.
import type { Alert, WebhookPayload } from '../../alerts/alertmanager';

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function alert(labels: Record<string, string>, overrides: Partial<Alert> = {}): Alert {
  return {
    status: 'firing',
    labels: { alertname: 'LLMInputTokensPerRequestHigh', severity: 'S2', ...labels },
    annotations: { summary: 'Input tokens per request are 3.4x the baseline' },
    startsAt: '2026-11-28T10:00:00.123456789Z',
    endsAt: ZERO_TIME,
    generatorURL: 'http://prometheus.test:9090/graph',
    fingerprint: `fp-${Object.values(labels).join('-')}`,
    ...overrides,
  };
}

export const resolved = (firing: Alert, endsAt = '2026-11-28T10:30:00Z'): Alert => ({
  ...firing,
  status: 'resolved',
  endsAt,
});

export function payload(alerts: Alert[]): WebhookPayload {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey: '{}:{alertname="LLMInputTokensPerRequestHigh"}',
    truncatedAlerts: 0,
    status,
    receiver: 'finops-soar',
    groupLabels: { alertname: 'LLMInputTokensPerRequestHigh' },
    commonLabels: alerts[0]?.labels ?? {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test:9093',
    alerts,
  };
}
