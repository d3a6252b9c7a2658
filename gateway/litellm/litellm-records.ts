// How the LiteLLM adapter makes its changes safe to retry and exact to undo on a gateway without idempotency keys or
// revisions: each change is recorded, by the engine's change key, on the object it changes (a team's metadata, a
// deployment's model_info), as the Kubernetes actuator records its annotation; a retry that finds its key answers the
// recorded result and writes nothing. Values LiteLLM cannot take back (a PATCH drops nulls, so a key it once held
// cannot be removed) are kept beside, to be put back exactly when the engine restores the field.
import { refuseLacking as refuseLackingOn } from '../adapter';
import type { GatewayKind } from '../gateway-knobs';
import type { Knob, KnobScope } from '../gateway-knobs';

/** The key under a team's metadata and a deployment's model_info that holds the engine's records. */
export const RECORD_KEY = 'finops_soar';
/** The changes remembered per object: enough for any retry (a retry follows its first try within minutes). */
const KEEP_CHANGES = 20;

export interface ObjectRecord {
  /** Change key → what the change answered (its `previous`, and for weights the shares it set). */
  changes: Record<string, { at: string; answer: unknown }>;
  /** Raw values held before the engine's first change, to put back when it restores them (see above). */
  before?: Record<string, unknown>;
}

export function recordOf(holder: Record<string, unknown> | null | undefined): ObjectRecord {
  const record = holder?.[RECORD_KEY] as Partial<ObjectRecord> | undefined;
  return { changes: { ...record?.changes }, ...(record?.before && { before: { ...record.before } }) };
}

/** The answer a change with this key gave, when it already happened. */
export const recordedAnswer = <Answer>(record: ObjectRecord, key: string): Answer | undefined =>
  record.changes[key]?.answer as Answer | undefined;

/** `record` with this change added, and the oldest beyond KEEP_CHANGES dropped. */
export function withChange(record: ObjectRecord, key: string, answer: unknown, at = new Date()): ObjectRecord {
  const changes = Object.entries({ ...record.changes, [key]: { at: at.toISOString(), answer } })
    .sort(([, a], [, b]) => a.at.localeCompare(b.at))
    .slice(-KEEP_CHANGES);
  return { ...record, changes: Object.fromEntries(changes) };
}

const LITELLM: GatewayKind = 'litellm';

/** The knobs a policy patch sets. */
export const policyKnobs = (patch: object) => Object.keys(patch).map((field) => `policy.${field}` as Knob);

/** Refuses, before any call, a change LiteLLM cannot make. */
export const refuseLacking = (knobs: Knob[], scope: KnobScope) => refuseLackingOn(LITELLM, 'LiteLLM', knobs, scope);

export { changedMeanwhile, refused } from '../adapter';
