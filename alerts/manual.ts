// A run started by hand (CLI, HTTP API) instead of by Alertmanager. It becomes an alert of its own
// so the workflow treats both alike: it fires when started and resolves when its starter says so.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Alert } from './alertmanager';

const MANUAL_FINGERPRINT_PREFIX = 'manual:';

// Bounds well above any real step id, user id or sentence, and far below Temporal's 2 MiB payloads.
export const MAX_ID_CHARS = 256;
export const MAX_REASON_CHARS = 4_000;

export const manualStartSchema = z
  .object({
    playbook: z.string().min(1).max(MAX_ID_CHARS).describe('the name of the playbook to run, e.g. war-room'),
    labels: z
      .record(z.string(), z.string())
      .default({})
      .describe('the target\'s labels, e.g. {"route": "chat"}, plus any the playbook\'s templates use'),
    annotations: z
      .record(z.string(), z.string())
      .default({})
      .describe('extra text for templates, e.g. {"dashboard": "https://…"}'),
    startedBy: z
      .string()
      .min(1)
      .max(MAX_ID_CHARS)
      .describe('who starts the run (a user id); recorded in the run, and refused as the approver of its steps'),
    reason: z.string().min(1).max(MAX_REASON_CHARS).describe('why, in a sentence; shown wherever the run is'),
  })
  .strict();
export type ManualStart = z.output<typeof manualStartSchema>;

/**
 * The alert a manual start stands for. Its fingerprint depends on the playbook and labels only, so a
 * repeated start (a retried request, two people at once) joins the run already open for that target.
 */
export function manualAlert(start: ManualStart, severity: string, now: Date): Alert {
  const labels = { alertname: `Manual:${start.playbook}`, severity, ...start.labels };
  const identity = JSON.stringify([start.playbook, Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))]);
  return {
    status: 'firing',
    labels,
    annotations: { summary: start.reason, ...start.annotations, startedBy: start.startedBy },
    startsAt: now.toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
    fingerprint: `${MANUAL_FINGERPRINT_PREFIX}${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`,
  };
}

export const isManualFingerprint = (fingerprint: string) => fingerprint.startsWith(MANUAL_FINGERPRINT_PREFIX);
