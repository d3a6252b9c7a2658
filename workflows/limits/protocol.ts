// The engine's limits, held by a few shard workflows and one waitlist instead of one workflow on every run's path
// (issue 14): what they are called, how a key finds its shard, and the messages between runs, shards and the
// waitlist. Pure: runs, the shard and waitlist workflows and the limits activities all import it.
//
// - Every message is a signal, answered by a signal: Temporal batches the signals that arrive while a workflow task
//   runs into the next one, where updates have a workflow task each and at most ten in flight per workflow (measured
//   in docs/scale.md: updates collapsed under a storm).
// - A run asks the shard of its target for a slot. Each shard holds its share of engine.maxConcurrentRuns.
// - A full shard sends it to the waitlist (a signal), which orders waiting runs by severity, route class and
//   arrival. While it has waiters, every shard hands its free slots, and each slot that frees, to it (offer) instead
//   of to whoever asks next; it assigns each to the first waiter, and the shard admits that run (a signal to the
//   run). So a run never waits while a slot is free anywhere, and the waitlist sees traffic only under load.
// - Actions reserve their target's hourly budget at the target's shard and each shared object at the object's.
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Shards by default: measured best on 2 cores (docs/scale.md); more spread updates thinner. */
export const DEFAULT_LIMIT_SHARDS = 4;

/** Every limits workflow's id starts so: one set of shards and one waitlist per engine (task queue). */
export const LIMITS_WORKFLOW_PREFIX = 'finops-soar/limits/';
export const shardWorkflowId = (taskQueue: string, shard: number) =>
  `${LIMITS_WORKFLOW_PREFIX}${taskQueue}/shard-${shard}`;
export const waitlistWorkflowId = (taskQueue: string) => `${LIMITS_WORKFLOW_PREFIX}${taskQueue}/waitlist`;
/**
 * The limits workflows' own task queue, served by a worker of their own beside the runs' (workers/limits-worker.ts):
 * in a storm their tasks do not queue behind thousands of runs' tasks, and thousands of cached runs never evict
 * them (a shard evicted replays its whole history at every task).
 */
export const limitsTaskQueue = (taskQueue: string) => `${taskQueue}-limits`;

/** FNV-1a of the key, modulo the shard count: the same key finds the same shard in every process. */
export function shardOf(key: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index++) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** Shard `shard`'s part of `max` slots: the shares add up to `max` exactly. */
export const shareOf = (shard: number, shards: number, max: number) =>
  Math.floor(max / shards) + (shard < max % shards ? 1 : 0);

/** Admission order: the most severe first, then protected routes, then sensitive ones, then the first to arrive. */
export type RouteClass = 'protected' | 'sensitive' | 'standard';
export const ROUTE_CLASS_RANK: Record<RouteClass, number> = { protected: 0, sensitive: 1, standard: 2 };

export interface Waiter {
  workflowId: string;
  /** S1 is the most severe. */
  severity: string;
  routeClass: RouteClass;
  /** When the run asked (ISO), so a run that re-joins keeps its place. */
  since: string;
}

export type AdmitAnswer = (
  | { granted: true; shard: number }
  /** `saturated`: the waitlist has waiters, so no shard grants a slot to a newcomer. */
  | { granted: false; saturated: boolean }
) & {
  /** The target's last rollback, when the request asked (`flap`) and it ended within the time asked. */
  lastRollback?: TargetRollback;
};

/** engine.flapMemory, as the limits settings tell a run. */
export interface FlapMemorySettings {
  /** A rollback this recent makes the target's next run a flap (0: no memory). */
  withinMs: number;
  /** Each flap in a row multiplies the run's cooldown and stabilisation by this, up to maxFactor. */
  factor: number;
  maxFactor: number;
}

/** A target's last rollback after its alert resolved, as its shard remembers it (flap memory). */
export interface TargetRollback {
  /** The run that rolled back (its workflow id and first execution's run id). */
  workflowId: string;
  runId: string;
  /** When the rollback ended (ISO), and how many flaps in a row the run that rolled back had itself. */
  at: string;
  flaps: number;
}

export interface ReserveRequest {
  workflowId: string;
  /** The change's idempotency key: asking again answers the same. */
  key: string;
  /** The target's hourly budget of actions, when this shard holds the target. */
  target?: { key: string; max: number; windowMs: number };
  /** The shared objects this shard holds that the change touches. */
  objects: string[];
}
export type ReserveAnswer = { granted: true; owned: string[] } | { granted: false; reason: string; holders?: string[] };

export interface ShardState {
  /** Runs holding a slot here, by workflow id, with when they took it. */
  runs: Record<string, string>;
  /** Slots handed to the waitlist and not yet assigned or returned. */
  offered: number;
  /** The waitlist's last word on whether runs wait, and its sequence number (signals may cross). */
  waiters: { exist: boolean; seq: number };
  /** This shard's share of engine.maxConcurrentRuns, as the last run asking said it. */
  capacity: number;
  /** Per target key: the reservation keys and times of its actions inside the window. */
  actions: Record<string, Array<{ key: string; at: number }>>;
  /** The run that changed each shared object, until it ends. */
  owners: Record<string, string>;
  /** Per target key that hashes here: its last rollback after a resolution (absent from shards before it). */
  rollbacks?: Record<string, TargetRollback>;
}

export interface WaitlistState {
  waiters: Array<Waiter & { arrival: number }>;
  arrivals: number;
  /** How many shards to tell whether runs wait: the most any waiter said. */
  shards: number;
  /** Slots offered per shard, not yet assigned. */
  offers: Record<number, number>;
  /** The flag the shards were last told, and its sequence number. */
  told: { exist: boolean; seq: number };
  /** The position each waiter was last told. */
  reported: Record<string, number>;
}

/** Every request carries who asks and a number of its own, which the answer repeats. */
export interface Asking {
  replyTo: string;
  requestId: string;
}
export type LimitsReply = { requestId: string } & (
  { kind: 'admit'; answer: AdmitAnswer & { reserved?: ReserveAnswer } } | { kind: 'reserve'; answer: ReserveAnswer }
);

/**
 * A slot, and with it (a run's first change, first-change.ts) the part of a change this shard holds: reserved only
 * if the slot is granted, answered in `reserved`. A shard from before ignores `reserve` and answers none.
 */
export interface AdmitRequest {
  workflowId: string;
  max: number;
  shards: number;
  reserve?: ReserveRequest;
  /** The run's target, and how far back its last rollback counts as a flap: answered in `lastRollback`. */
  flap?: { target: string; withinMs: number };
}

// On a shard.
export const admitSignal = defineSignal<[Asking & AdmitRequest]>('admit');
export const reserveSignal = defineSignal<[Asking & ReserveRequest]>('reserve');
/**
 * A run ended (or never used its slot): its slot and the objects it owns come back. A run that rolled back after its
 * alert resolved tells its target's shard (`rolledBack`), which remembers it for the target's next run.
 */
export const releaseSignal =
  defineSignal<[{ workflowIds: string[]; rolledBack?: TargetRollback & { target: string } }]>('release');
/** A change reserved here was refused by another shard: its action and objects come back. */
export const unreserveSignal = defineSignal<[{ workflowId: string; key: string; objects: string[] }]>('unreserve');
export const waitersSignal = defineSignal<[{ exist: boolean; seq: number }]>('waiters');
/** From the waitlist: one offered slot goes to this run. */
export const assignSignal = defineSignal<[{ workflowId: string }]>('assign');
/** From the waitlist: offered slots nobody waits for any more. */
export const returnSlotsSignal = defineSignal<[{ count: number }]>('returnSlots');
export const shardQuery = defineQuery<ShardState>('shard');

// On the waitlist.
export const joinSignal = defineSignal<[Waiter & { shards: number }]>('join');
export const withdrawSignal = defineSignal<[{ workflowId: string }]>('withdraw');
export const offerSignal = defineSignal<[{ shard: number; count: number }]>('offer');
export const waitlistQuery = defineQuery<WaitlistState>('waitlist');

/** On a run: a shard's answer to its request. */
export const limitsReplySignal = defineSignal<[LimitsReply]>('limitsReply');
/** On a waiting run: admitted by a shard, or its place in the line. */
export const admissionSignal =
  defineSignal<[{ admittedBy: number } | { position: number; waiting: number }]>('admission');

/** Whether `a` goes before `b`. */
export function admittedBefore(a: Waiter & { arrival: number }, b: Waiter & { arrival: number }): boolean {
  if (a.severity !== b.severity) return a.severity < b.severity;
  const classes = ROUTE_CLASS_RANK[a.routeClass] - ROUTE_CLASS_RANK[b.routeClass];
  if (classes !== 0) return classes < 0;
  if (a.since !== b.since) return a.since < b.since;
  return a.arrival < b.arrival;
}

/** The refusal of a change whose objects other runs hold (the shards and, for older runs, engineLimits). */
export function heldRefusal(held: string[], owners: Record<string, string>) {
  const holders = [...new Set(held.map((object) => owners[object]!))];
  return {
    granted: false as const,
    reason: `${held.join(', ')} ${held.length === 1 ? 'is' : 'are'} held by run ${holders.join(', ')} until it ends`,
    holders,
  };
}

/** The refusal of a change beyond its target's hourly budget. */
export const actionsRefusal = (target: string, taken: number, max: number, windowMs: number) => ({
  granted: false as const,
  reason: `${target} already took ${taken} actions in the last ${windowMs / 60_000} minutes (engine.maxActionsPerTargetPerHour is ${max})`,
});
