// Who may decide an approval: configured per playbook (or `default`) and severity, as Slack user
// ids (U…, W…), user groups (by notify name or id, resolved through the directory), or `*` for
// anyone. Nothing configured means nobody: approvals fail closed.
import { z } from 'zod';

const SEVERITY_NAMES = ['S1', 'S2', 'S3'] as const;

export const approversSchema = z
  .record(
    z.string().min(1),
    z.partialRecord(
      z.enum(SEVERITY_NAMES),
      z.array(z.string().min(1)).min(1).describe('user ids (U…), user groups (names or S… ids) or * for anyone'),
    ),
  )
  .default({})
  .describe(
    'who may approve, per playbook name (or default) and severity, e.g. {default: {S1: [sre-leads], S2: [finops, sre]}}',
  );
export type Approvers = z.output<typeof approversSchema>;

/** Group membership, from Slack; absent without Slack, when only user ids and * can be checked. */
export interface Directory {
  membersOf(group: string): Promise<string[]>;
}

export type Authorization = { ok: true } | { ok: false; reason: string };

const isUserId = (entry: string) => /^[UW][A-Z0-9]+$/.test(entry);

/** The playbook an approval step belongs to: an escalated step is named `<playbook>/<step>`. */
export function playbookOfStep(stepId: string, runPlaybook: string): string {
  const slash = stepId.indexOf('/');
  return slash === -1 ? runPlaybook : stepId.slice(0, slash);
}

export async function authorize(
  user: string,
  { playbook, severity }: { playbook: string; severity: string },
  approvers: Approvers,
  directory?: Directory,
): Promise<Authorization> {
  const entries =
    approvers[playbook]?.[severity as (typeof SEVERITY_NAMES)[number]] ??
    approvers.default?.[severity as (typeof SEVERITY_NAMES)[number]];
  if (!entries)
    return {
      ok: false,
      reason: `nobody may approve ${severity} steps of ${playbook}: set approvals.approvers.${playbook}.${severity} (or .default.${severity})`,
    };
  if (await isAmong(user, entries, directory)) return { ok: true };
  return {
    ok: false,
    reason: `${user} may not approve ${severity} steps of ${playbook}; approvers: ${entries.join(', ')}${uncheckedGroups(entries, directory)}`,
  };
}

/** Whether `user` is one of `entries`: named, in a named group (with Slack), or `*`. */
export async function isAmong(user: string, entries: readonly string[], directory?: Directory): Promise<boolean> {
  if (entries.includes('*') || entries.includes(user)) return true;
  if (!directory) return false;
  for (const group of entries.filter((entry) => !isUserId(entry)))
    if ((await directory.membersOf(group)).includes(user)) return true;
  return false;
}

/** What a refusal adds when groups could not be checked: they need Slack. */
export function uncheckedGroups(entries: readonly string[], directory?: Directory): string {
  const groups = entries.filter((entry) => entry !== '*' && !isUserId(entry));
  return groups.length > 0 && !directory ? ` (groups ${groups.join(', ')} cannot be checked without Slack)` : '';
}
