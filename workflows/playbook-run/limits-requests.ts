// How a run asks the limits' shards and waitlist (workflows/limits/protocol.ts): a signal out, a signal back with
// the same request number. A limits workflow that is not running yet is started by an activity that delivers the
// same signal.
import {
  condition,
  getExternalWorkflowHandle,
  setHandler,
  workflowInfo,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { LimitSettings } from '../../activities/sharded-limits';
import {
  admitSignal,
  limitsReplySignal,
  releaseSignal,
  reserveSignal,
  shardOf,
  shardWorkflowId,
  unreserveSignal,
  waitlistWorkflowId,
  type AdmitAnswer,
  type AdmitRequest,
  type LimitsReply,
  type ReserveAnswer,
  type ReserveRequest,
} from '../limits/protocol';
import { limits, limitSettings } from './activity-proxies';
import type { RunContext } from './run-context';

const HOUR_MS = 3_600_000;

/** A run's side of the conversation: the answers that came back, by request number, until they are read. */
export class LimitsConversation {
  readonly replies = new Map<string, LimitsReply>();
  requests = 0;
  /** A promise, so that two asking at once in one task share one local activity. */
  settings: Promise<LimitSettings> | undefined;
}

export function handleLimitsReplies({ limitsConversation: { replies } }: RunContext): void {
  setHandler(limitsReplySignal, (reply) => void replies.set(reply.requestId, reply));
}

/** The limits as the worker is configured (a local activity, asked once per execution). */
export async function limitsSettings(ctx: RunContext): Promise<LimitSettings> {
  const conversation = ctx.limitsConversation;
  conversation.settings ??= limitSettings['limits.settings']({ route: ctx.plan.target.labels.route });
  return conversation.settings;
}

/** Signals a shard or the waitlist; one not running yet is started with the signal. */
export async function tell<Arg>(to: number | 'waitlist', signal: SignalDefinition<[Arg]>, arg: Arg): Promise<void> {
  const { taskQueue } = workflowInfo();
  const workflowId = to === 'waitlist' ? waitlistWorkflowId(taskQueue) : shardWorkflowId(taskQueue, to);
  try {
    await getExternalWorkflowHandle(workflowId).signal(signal, arg);
  } catch {
    await limits['limits.deliver']({ to, signal: signal.name, arg });
  }
}

/** Sends a request to a shard and waits for its answer. */
async function ask<Arg>(ctx: RunContext, shard: number, signal: SignalDefinition<[Arg]>, request: object) {
  const conversation = ctx.limitsConversation;
  const requestId = `${++conversation.requests}`;
  await tell(shard, signal, { ...request, replyTo: ctx.workflowId, requestId } as Arg);
  await condition(() => conversation.replies.has(requestId));
  const { answer } = conversation.replies.get(requestId)!;
  conversation.replies.delete(requestId);
  return answer;
}

/** A slot at this shard, if it has one free and nobody waits. */
export const askAdmit = (ctx: RunContext, shard: number, request: AdmitRequest) =>
  ask(ctx, shard, admitSignal, request) as Promise<AdmitAnswer & { reserved?: ReserveAnswer }>;

const askReserve = (ctx: RunContext, shard: number, request: ReserveRequest) =>
  ask(ctx, shard, reserveSignal, request) as Promise<ReserveAnswer>;

/** A change's reservation as each shard holds it: the target's hourly budget at its shard, each object at its own. */
export async function reservationParts(
  ctx: RunContext,
  key: string,
  objects: string[],
): Promise<Array<{ shard: number; request: ReserveRequest }>> {
  const { shards, maxActionsPerTargetPerHour } = await limitsSettings(ctx);
  const target = ctx.plan.target.key;
  const targetShard = shardOf(target, shards);
  const byShard = new Map<number, string[]>([[targetShard, []]]);
  for (const object of objects) {
    const shard = shardOf(object, shards);
    byShard.set(shard, [...(byShard.get(shard) ?? []), object]);
  }
  return [...byShard.keys()]
    .sort((a, b) => a - b)
    .map((shard) => ({
      shard,
      request: {
        workflowId: ctx.workflowId,
        key,
        objects: byShard.get(shard)!,
        ...(shard === targetShard && { target: { key: target, max: maxActionsPerTargetPerHour, windowMs: HOUR_MS } }),
      },
    }));
}

type Reservation = { granted: true; shards: number[] } | { granted: false; reason: string };
type Granted = Array<{ shard: number; owned: string[] }>;

/** Gives back what a shard granted of a change. */
export const giveBack = (ctx: RunContext, key: string, { shard, owned }: Granted[number]) =>
  tell(shard, unreserveSignal, { workflowId: ctx.workflowId, key, objects: owned });

/**
 * Reserves a change within its target's hourly budget (at the target's shard) and the shared objects it touches
 * (each at its own shard), in shard order so that two runs after one object meet at the first shard they share. A
 * refusal at one shard gives back what the others granted. Answers the shards that now hold something of the run.
 */
export async function reserve(ctx: RunContext, key: string, objects: string[]): Promise<Reservation> {
  const granted: Granted = [];
  for (const { shard, request } of await reservationParts(ctx, key, objects)) {
    let answer = await askReserve(ctx, shard, request);
    // A holder that ended without releasing (terminated) gives its objects back, and the shard is asked again.
    if (!answer.granted && answer.holders) {
      const closed = await limits['limits.closedRuns']({ workflowIds: answer.holders });
      if (closed.length > 0) {
        await tell(shard, releaseSignal, { workflowIds: closed });
        answer = await askReserve(ctx, shard, request);
      }
    }
    if (!answer.granted) {
      // One after the other, as runs recorded before first-change.ts did.
      for (const part of granted) await giveBack(ctx, key, part);
      return { granted: false, reason: answer.reason };
    }
    granted.push({ shard, owned: answer.owned });
  }
  return { granted: true, shards: granted.map(({ shard }) => shard) };
}

/**
 * Reserves a change at several shards at once: one round of messages instead of one per shard, for the parts of a
 * run's first change beyond its target's shard (first-change.ts). Two runs after the same objects at once may then
 * both be refused where the ordered `reserve` lets one through; whoever is refused gives back what it got and its
 * step asks again in order.
 */
export async function reserveAtOnce(
  ctx: RunContext,
  key: string,
  parts: Array<{ shard: number; request: ReserveRequest }>,
): Promise<{ granted: true; parts: Granted } | { granted: false; reason: string }> {
  const answers = await Promise.all(parts.map(({ shard, request }) => askReserve(ctx, shard, request)));
  const granted: Granted = parts.flatMap(({ shard }, index) => {
    const answer = answers[index]!;
    return answer.granted ? [{ shard, owned: answer.owned }] : [];
  });
  const refusal = answers.find((answer) => !answer.granted);
  if (refusal && !refusal.granted) {
    await Promise.all(granted.map((part) => giveBack(ctx, key, part)));
    return { granted: false, reason: refusal.reason };
  }
  return { granted: true, parts: granted };
}
