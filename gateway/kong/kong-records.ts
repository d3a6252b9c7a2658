// How the Kong adapter makes its changes safe to retry and exact to undo on an Admin API without idempotency keys or
// revisions: each write records the engine's change key, and the values it replaced, in the plugin's own tags (tags are
// the only free-form field Kong keeps on a plugin: strings without `,` or `/`, kong/db/schema/typedefs.lua). A retry
// that finds its key answers what the first try did and writes nothing. A plugin the engine made carries a tag saying
// so, and is deleted when the engine takes back what it set.
import { createHash } from 'node:crypto';
import { refuseLacking as refuseLackingOn } from '../adapter';
import type { Knob, KnobScope } from '../gateway-knobs';

const PREFIX = 'finops-soar:';
/** On a plugin the engine created: the undo deletes it rather than editing it. */
export const CREATED_TAG = 'finops-soar:created';
/** Values held before the engine's first change, to be put back exactly (e.g. raw target weights). */
const BEFORE_PREFIX = 'finops-soar-before:';
/** The change records kept per plugin: enough for any retry (a retry follows its first try within minutes). */
const KEEP_RECORDS = 10;

/** A change key as a tag: hashed, since keys (workflow id / step id) may hold `/`, which tags may not. */
const keyId = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 16);
const isRecord = (tag: string) => tag.startsWith(PREFIX) && tag !== CREATED_TAG;

/** The answer the change with this key recorded on the plugin, when it already happened there. */
export function recordedAnswer<Answer>(tags: readonly string[] | null, key: string): Answer | undefined {
  const head = `${PREFIX}${keyId(key)}:`;
  const tag = tags?.find((candidate) => candidate.startsWith(head));
  return tag === undefined
    ? undefined
    : (JSON.parse(Buffer.from(tag.slice(head.length), 'base64url').toString()) as Answer);
}

/** `tags` with this change's record added (base64url JSON: no `,` or `/`) and the oldest beyond KEEP_RECORDS dropped. */
export function withRecord(tags: readonly string[] | null, key: string, answer: unknown): string[] {
  const record = `${PREFIX}${keyId(key)}:${Buffer.from(JSON.stringify(answer)).toString('base64url')}`;
  const records = (tags ?? []).filter(isRecord);
  const dropped = new Set(records.slice(0, Math.max(0, records.length + 1 - KEEP_RECORDS)));
  return [...(tags ?? []).filter((tag) => !dropped.has(tag)), record];
}

/** A value held on the plugin since before the engine's first change, e.g. `weights` → "100.100". */
export function heldBefore(tags: readonly string[] | null, name: string): string | undefined {
  const head = `${BEFORE_PREFIX}${name}=`;
  return tags?.find((tag) => tag.startsWith(head))?.slice(head.length);
}

/** `tags` holding `value` under `name` (undefined: the held value dropped). */
export function withHeld(tags: readonly string[], name: string, value: string | undefined): string[] {
  const head = `${BEFORE_PREFIX}${name}=`;
  const rest = tags.filter((tag) => !tag.startsWith(head));
  return value === undefined ? rest : [...rest, `${head}${value}`];
}

export const createdByEngine = (tags: readonly string[] | null) => tags?.includes(CREATED_TAG) ?? false;

/** Refuses, before any call, a change Kong cannot make. */
export const refuseLacking = (knobs: Knob[], scope: KnobScope) => refuseLackingOn('kong', 'Kong', knobs, scope);

export { changedMeanwhile, refused } from '../adapter';
