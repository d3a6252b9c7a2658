// The Alertmanager webhook payload, version 4
// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
// Each notification carries the group's whole current alert set; delivery is at-least-once.
import { z } from 'zod';

// Alertmanager, a Go program, sends UTF-8 only: a lone UTF-16 surrogate (a "\ud800" escape) is not from it, and
// Temporal would turn it into U+FFFD in a workflow id, where two different label values would then name one run.
const text = z.string().refine((value) => !/\p{Cs}/u.test(value), {
  message: 'contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode text',
});
const labelSet = z.record(text, text).describe('an object mapping label names to string values');
// Go's RFC 3339 with nanoseconds; firing alerts carry the zero time 0001-01-01T00:00:00Z as endsAt.
const timestamp = z.iso.datetime({ offset: true }).describe('an RFC 3339 timestamp, e.g. 2026-11-28T10:00:00Z');

export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']).describe('"firing" or "resolved"'),
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: timestamp,
  endsAt: timestamp,
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1).describe("the alert's fingerprint, as Alertmanager computes it from its labels"),
});

export const webhookPayloadSchema = z.object({
  version: z.literal('4').describe('"4", the webhook payload version Alertmanager 0.16+ sends'),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: z.string(),
  alerts: z.array(alertSchema).min(1).describe('at least one alert'),
});

export type Alert = z.output<typeof alertSchema>;
export type WebhookPayload = z.output<typeof webhookPayloadSchema>;
export type Labels = Record<string, string>;
