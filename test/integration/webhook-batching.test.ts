// The webhook's Temporal calls (ingress/notification-dispatch.ts, ingress/repeat-cache.ts): one per run (playbook ×
// target) per notification however many of its alerts share the target, and none for an unchanged repeat of what
// Temporal accepted within ingress.repeatWindow. Every call the ingress makes is counted by a client interceptor, on a
// real Temporal dev server with a worker running the runs.
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Alert } from '../../alerts/alertmanager';
import type { AlertNotification } from '../../alerts/tracker';
import type { IngressOptions } from '../../ingress/app';
import { RepeatCache } from '../../ingress/repeat-cache';
import { statusQuery } from '../../workflows/playbook-run/definitions';
import { playbookRunId } from '../../workflows/ids';
import { alert, payload, resolved } from '../helpers/alerts';
import { INGRESS_TOKEN, startIngress } from '../helpers/ingress';
import { waitFor } from '../helpers/wait';
import { startHarness, type Harness } from '../helpers/workflow-harness';

/** The ingress's Temporal calls, and a way to have Temporal refuse the next ones. */
class TemporalCalls {
  readonly calls: Array<{ kind: string; workflowId: string }> = [];
  /** How many of the next calls fail as if Temporal were unreachable. */
  refuseNext = 0;

  private record<T>(kind: string, workflowId: string, call: () => Promise<T>): Promise<T> {
    this.calls.push({ kind, workflowId });
    if (this.refuseNext > 0) {
      this.refuseNext--;
      return Promise.reject(new Error('14 UNAVAILABLE: refused by the test'));
    }
    return call();
  }

  readonly interceptor: WorkflowClientInterceptor = {
    signalWithStart: (input, next) => this.record('signalWithStart', input.options.workflowId, () => next(input)),
    signal: (input, next) => this.record('signal', input.workflowExecution.workflowId, () => next(input)),
    startWithDetails: (input, next) => this.record('start', input.options.workflowId, () => next(input)),
    startUpdate: (input, next) => this.record('update', input.workflowExecution.workflowId, () => next(input)),
  };

  async during<T>(act: () => Promise<T>): Promise<{ result: T; calls: Array<{ kind: string; workflowId: string }> }> {
    const before = this.calls.length;
    const result = await act();
    return { result, calls: this.calls.slice(before) };
  }
}

let harness: Harness;
const temporal = new TemporalCalls();
const apps: FastifyInstance[] = [];

async function ingress(overrides: Partial<IngressOptions> = {}): Promise<string> {
  const client = new Client({
    connection: harness.env.connection,
    namespace: harness.env.namespace ?? 'default',
    interceptors: { workflow: [temporal.interceptor] },
  });
  const { app, url } = await startIngress(harness, { client, ...overrides });
  apps.push(app);
  return url;
}

let webhook: string;
beforeAll(async () => {
  harness = await startHarness();
  webhook = await ingress();
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await harness?.close();
});

interface Answer {
  status: number;
  body: { outcomes: Array<{ outcome: string; fingerprint: string; workflowId?: string }> };
}

async function post(url: string, alerts: Alert[]): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${INGRESS_TOKEN}` },
    body: JSON.stringify(payload(alerts)),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** One of a target's several alerts: same route and tenant, its own fingerprint. */
const alertOf = (tenant: string, n: number, overrides: Partial<Alert> = {}) =>
  alert({ route: 'chat', tenant, model: `model-${n}` }, { fingerprint: `fp-${tenant}-${n}`, ...overrides });
const runOf = (tenant: string) => playbookRunId('cap-context', `route=chat,tenant=${tenant}`);
const statusOf = (tenant: string) => harness.env.client.workflow.getHandle(runOf(tenant)).query(statusQuery);
const historyLength = async (tenant: string) =>
  (await harness.env.client.workflow.getHandle(runOf(tenant)).fetchHistory()).events?.length ?? 0;

/** Waits until the run is mitigated with no workflow task or activity pending, and says how long its history is. */
const settledHistory = (tenant: string) =>
  waitFor(`${tenant}'s history settled`, async () => {
    const handle = harness.env.client.workflow.getHandle(runOf(tenant));
    const { raw } = await handle.describe();
    const idle = !raw.pendingWorkflowTask && (raw.pendingActivities ?? []).length === 0;
    return idle && (await statusOf(tenant)).state === 'mitigated' ? await historyLength(tenant) : undefined;
  });

test('a notification of 7 alerts over 3 targets makes 3 Temporal calls, and each run records each of its alerts', async () => {
  const alerts = [
    alertOf('batch-a', 1),
    alertOf('batch-b', 1),
    alertOf('batch-a', 2),
    alertOf('batch-c', 1),
    alertOf('batch-a', 3),
    alertOf('batch-b', 2),
    alertOf('batch-c', 2),
  ];
  const { result: answer, calls } = await temporal.during(() => post(webhook, alerts));
  expect(answer.status).toBe(200);
  expect(answer.body.outcomes.map(({ outcome, fingerprint }) => [fingerprint, outcome])).toEqual(
    alerts.map((a) => [a.fingerprint, 'started-or-signalled']),
  );
  expect(calls.map(({ kind }) => kind)).toEqual(['signalWithStart', 'signalWithStart', 'signalWithStart']);
  expect(new Set(calls.map(({ workflowId }) => workflowId))).toEqual(
    new Set([runOf('batch-a'), runOf('batch-b'), runOf('batch-c')]),
  );

  for (const [tenant, count] of [
    ['batch-a', 3],
    ['batch-b', 2],
    ['batch-c', 2],
  ] as const) {
    const status = await waitFor(`${tenant}'s alerts`, async () => {
      const current = await statusOf(tenant);
      return Object.keys(current.alerts).length === count ? current : undefined;
    });
    expect(status.alerts).toEqual(
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `fp-${tenant}-${i + 1}`,
          { status: 'firing', startsAt: alerts[0]!.startsAt },
        ]),
      ),
    );
    // One signal for the lot: the run counts each alert it carried.
    expect(status.notifications.received).toBe(count);
  }
});

test("a target's alerts beyond one signal's budget (256 KiB) go in further signals, in order, all to the same run", async () => {
  // Fingerprints of 100 KiB: two fit in a batch, the third starts the next.
  const alerts = [1, 2, 3].map((n) => alertOf('large', n, { fingerprint: `${n}`.repeat(100 * 1024) }));
  const { result: answer, calls } = await temporal.during(() => post(webhook, alerts));
  expect(answer.status).toBe(200);
  expect(calls).toEqual([
    { kind: 'signalWithStart', workflowId: runOf('large') },
    { kind: 'signalWithStart', workflowId: runOf('large') },
  ]);
  await waitFor('the three alerts in the run', async () => Object.keys((await statusOf('large')).alerts).length === 3);
});

test('a fire and a resolve for the same target in one notification: one signalWithStart carrying both, in order', async () => {
  const firing = alertOf('mixed', 1);
  const gone = resolved(alertOf('mixed', 2));
  const { result: answer, calls } = await temporal.during(() => post(webhook, [gone, firing]));
  expect(answer.status).toBe(200);
  expect(answer.body.outcomes.map(({ outcome }) => outcome)).toEqual(['resolution-signalled', 'started-or-signalled']);
  expect(calls).toEqual([{ kind: 'signalWithStart', workflowId: runOf('mixed') }]);
  const status = await waitFor('both alerts in the run', async () => {
    const current = await statusOf('mixed');
    return Object.keys(current.alerts).length === 2 ? current : undefined;
  });
  expect(status.alerts).toEqual({
    'fp-mixed-1': { status: 'firing', startsAt: firing.startsAt },
    'fp-mixed-2': { status: 'resolved', startsAt: gone.startsAt },
  });
});

test('resolutions only: one signal for the target, which starts no run', async () => {
  const gone = [resolved(alertOf('only-resolved', 1)), resolved(alertOf('only-resolved', 2))];
  const { result: answer, calls } = await temporal.during(() => post(webhook, gone));
  expect(answer.status).toBe(200);
  expect(answer.body.outcomes.map(({ outcome }) => outcome)).toEqual(['no-active-run', 'no-active-run']);
  expect(calls).toEqual([{ kind: 'signal', workflowId: runOf('only-resolved') }]);
  // No run took them, so nothing was remembered: the same resolutions ask Temporal again.
  expect((await temporal.during(() => post(webhook, gone))).calls).toHaveLength(1);
});

test('an unchanged repeat within the window makes no Temporal call and adds no history; it is counted', async () => {
  const alerts = [alertOf('repeat', 1), alertOf('repeat', 2)];
  expect((await post(webhook, alerts)).status).toBe(200);
  const before = await settledHistory('repeat');

  const { result: answer, calls } = await temporal.during(() => post(webhook, alerts));
  expect(answer.status).toBe(200);
  expect(answer.body.outcomes.map(({ outcome }) => outcome)).toEqual(['repeat-absorbed', 'repeat-absorbed']);
  expect(calls).toEqual([]);
  expect(await historyLength('repeat')).toBe(before);
  const metrics = await (await fetch(webhook.replace('/alerts/alertmanager', '/metrics'))).text();
  expect(metrics).toMatch(/^finops_soar_alerts_total\{outcome="repeat-absorbed",playbook="cap-context"\} 2$/m);

  // Not a repeat: a new alert beside them, or one of them resolved. The whole target's alerts go, in one call.
  const resolution = await temporal.during(() => post(webhook, [resolved(alerts[0]!), alerts[1]!]));
  expect(resolution.result.body.outcomes.map(({ outcome }) => outcome)).toEqual([
    'resolution-signalled',
    'started-or-signalled',
  ]);
  expect(resolution.calls).toEqual([{ kind: 'signalWithStart', workflowId: runOf('repeat') }]);
});

test('without the window (0s) each repeat costs a signal and history events: the figure docs/operations.md quotes', async () => {
  const url = await ingress({ repeatWindowMs: 0 });
  const alerts = [alertOf('unabsorbed', 1)];
  expect((await post(url, alerts)).status).toBe(200);
  const before = await settledHistory('unabsorbed');
  const { calls } = await temporal.during(() => post(url, alerts));
  expect(calls).toEqual([{ kind: 'signalWithStart', workflowId: runOf('unabsorbed') }]);
  await waitFor('the repeat in the run', async () => (await statusOf('unabsorbed')).notifications.received === 2);
  const after = await settledHistory('unabsorbed');
  // WorkflowExecutionSignaled, then a workflow task scheduled, started and completed.
  expect(after - before).toBe(4);
});

test('a repeat of a notification Temporal refused is not absorbed: it is sent again, and then accepted', async () => {
  const alerts = [alertOf('refused', 1), alertOf('refused', 2)];
  temporal.refuseNext = 1;
  const refused = await temporal.during(() => post(webhook, alerts));
  expect(refused.result.status).toBe(503);
  expect(refused.result.body.outcomes.map(({ outcome }) => outcome)).toEqual(['failed', 'failed']);
  expect(refused.calls).toHaveLength(1);

  const retried = await temporal.during(() => post(webhook, alerts));
  expect(retried.result.status).toBe(200);
  expect(retried.result.body.outcomes.map(({ outcome }) => outcome)).toEqual([
    'started-or-signalled',
    'started-or-signalled',
  ]);
  expect(retried.calls).toEqual([{ kind: 'signalWithStart', workflowId: runOf('refused') }]);
  await waitFor('the run with both alerts', async () => Object.keys((await statusOf('refused')).alerts).length === 2);
});

describe('the repeat cache (a clock of its own)', () => {
  const firing = (fingerprint: string, startsAt = '2026-12-01T10:00:00Z'): AlertNotification => ({
    fingerprint,
    status: 'firing',
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
  });
  let now = 0;
  const cache = (windowMs = 60_000, maxEntries?: number) => new RepeatCache(windowMs, maxEntries, () => now);
  beforeEach(() => (now = 1_000_000));

  test('a repeat is absorbed within the window counted from its acceptance, not from the repeats it absorbed', () => {
    const repeats = cache();
    repeats.record('run', [firing('a')]);
    now += 59_000;
    expect(repeats.allRepeats('run', [firing('a')])).toBe(true);
    now += 1_000;
    expect(repeats.allRepeats('run', [firing('a')])).toBe(false);
    expect(repeats.size).toBe(0);
  });

  test('only the latest accepted state of the same alert of the same run matches', () => {
    const repeats = cache();
    repeats.record('run', [firing('a'), firing('b')]);
    expect(repeats.allRepeats('run', [firing('a'), firing('b')])).toBe(true);
    expect(repeats.allRepeats('run', [firing('a'), firing('c')])).toBe(false);
    expect(repeats.allRepeats('other-run', [firing('a')])).toBe(false);
    expect(repeats.allRepeats('run', [firing('a', '2026-12-01T11:00:00Z')])).toBe(false);
    const resolution = { ...firing('a'), status: 'resolved' as const, endsAt: '2026-12-01T10:30:00Z' };
    expect(repeats.allRepeats('run', [resolution])).toBe(false);
    repeats.record('run', [resolution]);
    expect(repeats.allRepeats('run', [resolution])).toBe(true);
    // The run was told of the resolve after the fire: a fire now is not what it last heard.
    expect(repeats.allRepeats('run', [firing('a')])).toBe(false);
  });

  test('a workflow id and a fingerprint never run together into another pair', () => {
    const repeats = cache();
    repeats.record('run-1', [firing('0')]);
    expect(repeats.allRepeats('run-', [firing('10')])).toBe(false);
  });

  test('long keys (kept as their hash) still match only themselves', () => {
    const repeats = cache();
    const long = 'f'.repeat(10_000);
    repeats.record('run', [firing(long)]);
    expect(repeats.allRepeats('run', [firing(long)])).toBe(true);
    expect(repeats.allRepeats('run', [firing(`${long}g`)])).toBe(false);
    expect(repeats.allRepeats('run', [firing(long, '2026-12-01T11:00:00Z')])).toBe(false);
  });

  test('bounded: the oldest acceptance is forgotten first', () => {
    const repeats = cache(60_000, 2);
    repeats.record('run', [firing('a')]);
    repeats.record('run', [firing('b')]);
    repeats.record('run', [firing('a')]);
    repeats.record('run', [firing('c')]);
    expect(repeats.size).toBe(2);
    expect(repeats.allRepeats('run', [firing('b')])).toBe(false);
    expect(repeats.allRepeats('run', [firing('a'), firing('c')])).toBe(true);
  });

  test('a window of 0 absorbs nothing and keeps nothing', () => {
    const repeats = cache(0);
    repeats.record('run', [firing('a')]);
    expect(repeats.allRepeats('run', [firing('a')])).toBe(false);
    expect(repeats.size).toBe(0);
  });
});
