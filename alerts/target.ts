// What a playbook acts on, derived from the alert's labels. The target key is part of the
// workflow id, so every notification about the same target reaches the same run.
import type { Labels } from './alertmanager';

interface TargetKind {
  /** Labels the alert must carry to name the target. */
  required: readonly string[];
  /** Labels that narrow the target when present (a route alert with a tenant is about that tenant). */
  optional: readonly string[];
}

export const TARGET_KINDS = {
  route: { required: ['route'], optional: ['tenant'] },
  tenant: { required: ['tenant'], optional: [] },
  deployment: { required: ['namespace', 'deployment'], optional: [] },
  bucket: { required: ['bucket'], optional: [] },
} as const satisfies Record<string, TargetKind>;

export type TargetKindName = keyof typeof TARGET_KINDS;
export const TARGET_KIND_NAMES = Object.keys(TARGET_KINDS) as [TargetKindName, ...TargetKindName[]];

export interface Target {
  kind: TargetKindName;
  /** e.g. `route=chat,tenant=acme`: stable, readable, and unique per target. */
  key: string;
  labels: Labels;
}

/** Percent-encodes the key's own separators, so `chat,tenant=acme` as a route cannot pass for two labels. */
const escapeKeyPart = (value: string) =>
  value.replace(/[%,=]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

export type TargetResult = { ok: true; target: Target } | { ok: false; missing: string[] };

export function targetOf(kind: TargetKindName, labels: Labels): TargetResult {
  const { required, optional } = TARGET_KINDS[kind] as TargetKind;
  const missing = required.filter((name) => !labels[name]);
  if (missing.length > 0) return { ok: false, missing };
  const names = [...required, ...optional.filter((name) => labels[name])];
  const targetLabels = Object.fromEntries(names.map((name) => [name, labels[name]!]));
  const key = names.map((name) => `${name}=${escapeKeyPart(labels[name]!)}`).join(',');
  return { ok: true, target: { kind, key, labels: targetLabels } };
}
