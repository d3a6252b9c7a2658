// The savings ledger checked against what the simulated platform truly spent. Runs act on the full
// simulated platform (its load model advanced by the wall clock, a real Prometheus scraping its
// /metrics) from a real Temporal, and the ledger measures the cost rate through that Prometheus.
// The test keeps the model's spend on the target at every step of its clock, and replays the same
// seed on a control plane nobody changed to know what the target would have spent without the run:
// the model is deterministic, so the two differ by exactly what the run's changes did.
import type { CostSample, SavingsLedger } from '../../finops/savings';
import { EngineMetrics } from '../../observability/engine-metrics';
import { PlatformModel } from '../../simulator/platform/model';
import { PolicyStore } from '../../simulator/policy-store';
import {
  alertNotificationSignal,
  statusQuery,
  type AppliedChange,
  type RunStatus,
} from '../../workflows/playbook-run/definitions';
import { alert, resolved } from '../helpers/alerts';
import { startLivePlatform, type LivePlatform } from '../helpers/simulated-platform';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const QUEUE = 'savings-ground-truth';
const SEED = 64;
/** The cost rate's window and the ledger's sampling interval: short, so a run takes seconds. */
const WINDOW_MS = 15_000;
const EVERY_MS = 5_000;
const COST_RATE = `sum(rate(inference_cost_usd_total{route="{{ labels.route }}",tenant="{{ labels.tenant }}"}[${WINDOW_MS / 1000}s])) * 3600`;
/**
 * Which spend a rate measured at `at` covers. Prometheus scrapes once a second and the model's clock
 * steps once a second, at least 250 ms late (more while the machine is busy: the trace keeps how
 * late), so a scrape sees the spend up to 1.25 s before it. rate() takes the first and last scrape
 * inside its window: the spend it divides runs from between WINDOW + 1.25 s and WINDOW − 1 s before
 * `at` to between 2.25 s before `at` and `at`.
 */
const SCRAPE_MS = 1_000;
const STEP_LATE_MS = 1_250;
const WINDOW_ENDS = { earliest: SCRAPE_MS + STEP_LATE_MS, latest: 0 };
const WINDOW_STARTS = { earliest: WINDOW_MS + STEP_LATE_MS, latest: WINDOW_MS - SCRAPE_MS };
/**
 * rate() is the slope between the first and last scrapes in its window, and the spend moves in
 * whole model steps: one step more or fewer in a 15 s window is 1/14, about 7% of the rate. 8%
 * covers it.
 */
const RATE_TOLERANCE = 0.08;
/**
 * The dollars saved add up about ten such rates, whose step errors fall either way, so 3% of the
 * baseline's dollars over the run covers them (7% / √10 ≈ 2.2%); the ledger also rounds its total
 * to cents at every sample.
 */
const TOTAL_TOLERANCE = 0.03;
const HALF_CENT = 0.005;
/** A change is settled once a sample's rate window lies wholly after it, however stale. */
const SETTLED_MS = WINDOW_STARTS.earliest;

let live: LivePlatform;
let harness: Harness;
const metrics = new EngineMetrics();

interface SpendPoint {
  /** The model's clock after a step. */
  atMs: number;
  /** The wall clock when the step was taken: nothing could see its spend before. */
  takenAtMs: number;
  usd: number;
}

/** A tenant's cumulative spend on a route, at each step of a model's clock. */
class SpendTrace {
  private readonly points: SpendPoint[] = [];

  record(model: PlatformModel, tenant: string, route: string, takenAtMs: number): void {
    this.points.push({ atMs: model.nowMs, takenAtMs, usd: model.totals(tenant, route).costUsd });
  }

  /** The spend up to `atMs`; a step's requests are spread evenly over it, so between steps it is linear. */
  usd(atMs: number): number {
    const next = this.points.findIndex((point) => point.atMs >= atMs);
    if (next < 0 || (next === 0 && this.points[0]!.atMs > atMs)) {
      throw new Error(
        `the spend trace covers ${iso(this.points[0]!.atMs)} to ${iso(this.points.at(-1)!.atMs)}, not ${iso(atMs)}`,
      );
    }
    const after = this.points[next]!;
    const before = this.points[next - 1];
    if (after.atMs === atMs || !before) return after.usd;
    return before.usd + ((after.usd - before.usd) * (atMs - before.atMs)) / (after.atMs - before.atMs);
  }

  /** The spend Prometheus can have read at `wallMs`: that of the newest step taken by then. */
  private visibleUsd(wallMs: number): number {
    let usd = this.points[0]!.usd;
    for (const point of this.points) {
      if (point.takenAtMs > wallMs) break;
      usd = point.usd;
    }
    return usd;
  }

  /**
   * How late the clock took its steps, at most, up to `wallMs`: a busy machine (the other test
   * files run alongside) delays them, and the /metrics answers of the same event loop as much.
   */
  lateMs(wallMs: number): number {
    return this.points
      .filter((point) => point.takenAtMs <= wallMs)
      .reduce((late, point) => Math.max(late, point.takenAtMs - point.atMs), STEP_LATE_MS - SCRAPE_MS);
  }

  /**
   * Every rate a query at `atMs` (wall clock) can have measured, lowest and highest: the slope of
   * the spend Prometheus read between its first and last scrapes in the window. Scrapes come once
   * a second, stamped when they start, and each reads the spend of the newest step taken up to
   * lateMs after; nothing after `atMs` (say, after a rollback) can be in the answer.
   */
  ratesSeenAt(atMs: number): { low: number; high: number } {
    const late = this.lateMs(atMs);
    const read = (scrapeMs: number, delayMs: number) => this.visibleUsd(Math.min(scrapeMs + delayMs, atMs));
    const rates: number[] = [];
    for (let last = atMs - SCRAPE_MS - late; last <= atMs; last += 100) {
      for (let first = atMs - WINDOW_MS; first <= atMs - WINDOW_MS + SCRAPE_MS + late; first += 100) {
        for (const [firstDelay, lastDelay] of [
          [0, 0],
          [0, late],
          [late, 0],
          [late, late],
        ] as const) {
          rates.push(((read(last, lastDelay) - read(first, firstDelay)) / (last - first)) * 3_600_000);
        }
      }
    }
    return { low: Math.min(...rates), high: Math.max(...rates) };
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The platform's spend on each stream the tests watch, kept at every step of its clock. */
const spent = new Map<string, SpendTrace>();
const watch = (tenant: string, route: string) => {
  const trace = new SpendTrace();
  trace.record(live.platform.model, tenant, route, Date.now());
  live.onStep((model) => trace.record(model, tenant, route, Date.now()));
  spent.set(`${tenant}/${route}`, trace);
};

/**
 * What the stream would have spent without any run: the same seed, start and catalog on a control
 * plane nobody changed, stepped to where the platform's clock is now.
 */
function counterfactualSpend(tenant: string, route: string): SpendTrace {
  const store = new PolicyStore();
  const { catalog } = live.platform.model;
  const model = new PlatformModel({
    seed: live.seed,
    startMs: live.startMs,
    catalog,
    controlPlane: {
      effectivePolicy: (r, t) => store.effectivePolicy(r, t),
      tenantQuota: (t) => store.tenantQuota(t),
      regionWeights: (r) => store.regionWeights(r),
      replicas: (name) => catalog.deployments.find((deployment) => deployment.name === name)?.replicas ?? 0,
    },
  });
  const trace = new SpendTrace();
  const untilMs = live.platform.model.nowMs;
  trace.record(model, tenant, route, model.nowMs);
  while (model.nowMs < untilMs) {
    model.advance(model.nowMs + 1_000);
    trace.record(model, tenant, route, model.nowMs);
  }
  return trace;
}

beforeAll(async () => {
  live = await startLivePlatform({ seed: SEED });
  watch('acme', 'chat');
  watch('acme', 'embeddings');
  const since = live.platform.model.nowMs;
  harness = await startHarness();
  await harness.startWorker(QUEUE, { gateway: live.gateway, prometheusUrl: live.prometheusUrl, metrics });
  // A baseline needs a whole rate window of scrapes behind it, and of the spend kept here.
  await waitFor(
    'a whole rate window of the platform in Prometheus',
    () => live.platform.model.nowMs - since >= SETTLED_MS || undefined,
    60_000,
  );
});
afterAll(async () => {
  await harness?.close();
  await live?.close();
});

/**
 * Fires `playbook` and keeps the alert firing until its last change has settled, then resolves it
 * and waits for the rollback. Answers the run's summary and every ledger sample seen on the way
 * (the status is polled; a sample stays the ledger's latest until the next one, seconds later).
 */
async function runUntilSettled(playbook: string, labels: Record<string, string>, changes: number) {
  const firing = alert({ alertname: 'LLMSpendBurnRateHigh', severity: 'S2', ...labels });
  const handle = await harness.fire(playbook, firing, { taskQueue: QUEUE, cooldownMs: 300 });
  const samples = new Map<string, number>();
  const keep = (status: Pick<RunStatus, 'savings'>) => {
    const latest = status.savings?.latest;
    if (latest) samples.set(latest.at, latest.usdPerHour);
  };
  await waitFor(
    `${changes} changes in force and settled`,
    async () => {
      const status = await handle.query(statusQuery);
      keep(status);
      const last = status.applied[changes - 1];
      return (
        (last &&
          status.savings?.latest &&
          Date.parse(status.savings.latest.at) - Date.parse(last.appliedAt) >= SETTLED_MS) ||
        undefined
      );
    },
    60_000,
  );
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  const summary = await handle.result();
  keep(summary);
  const last = Date.parse(summary.savings!.latest!.at);
  await waitFor("the platform's clock past the last sample", () => live.platform.model.nowMs >= last || undefined);
  const sampled: CostSample[] = [...samples]
    .map(([at, usdPerHour]) => ({ at, usdPerHour }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return { summary, ledger: summary.savings!, sampled };
}

/** One number of the ledger against the truth, and whether it is within tolerance; failures list these. */
interface Comparison {
  what: string;
  ledger: number;
  truth: { low: number; high: number };
  /** How far the ledger is outside [low, high]; 0 inside. */
  error: number;
  tolerance: number;
}

function compare(what: string, ledger: number, truth: { low: number; high: number }, tolerance: number): Comparison {
  const error = ledger < truth.low ? ledger - truth.low : ledger > truth.high ? ledger - truth.high : 0;
  return { what, ledger, truth, error, tolerance };
}

/** Every sample the run took against the true rate over its window, naming the changes' before and after samples. */
function compareRates(trace: SpendTrace, sampled: CostSample[], applied: AppliedChange[]): Comparison[] {
  const roles = new Map<CostSample, string[]>();
  const role = (sample: CostSample | undefined, name: string) => {
    if (!sample) throw new Error(`no sample was seen for ${name}`);
    roles.set(sample, [...(roles.get(sample) ?? []), name]);
  };
  for (const { stepId, appliedAt, costBeforeUsdPerHour, costAfterUsdPerHour } of applied) {
    // Before: the sample just before the change; after: the first one a whole interval after it.
    const before = sampled.filter(({ at }) => at <= appliedAt).at(-1);
    const after = sampled.find(({ at }) => Date.parse(at) - Date.parse(appliedAt) >= EVERY_MS);
    role(before, `${stepId} before`);
    role(after, `${stepId} after`);
    expect([stepId, costBeforeUsdPerHour, costAfterUsdPerHour]).toEqual([
      stepId,
      before!.usdPerHour,
      after!.usdPerHour,
    ]);
  }
  return sampled.map((sample) => {
    const truth = trace.ratesSeenAt(Date.parse(sample.at));
    return compare(
      `rate at ${sample.at} (${(roles.get(sample) ?? ['periodic']).join(', ')})`,
      sample.usdPerHour,
      truth,
      RATE_TOLERANCE * truth.high,
    );
  });
}

/**
 * The ledger's dollars saved against the true saving: the counterfactual's spend less the
 * platform's. The ledger integrates rates that each look back over a window, so its total covers
 * the spend from the middle of its baseline's window to the middle of its last sample's (each
 * middle between 9.25 s and 7 s before the sample, see WINDOW_ENDS and WINDOW_STARTS); the true
 * saving is taken over that span. The ledger's method assumes the spend would have stayed at the
 * baseline rate: how far the counterfactual strayed from it over the span is the method's error,
 * not the measurement's, and is part of the tolerance.
 */
function compareTotal(ledger: SavingsLedger, trace: SpendTrace, counterfactual: SpendTrace): Comparison {
  const latestMiddle = (WINDOW_ENDS.latest + WINDOW_STARTS.latest) / 2;
  // A late clock moves every window's middle back by as much.
  const earliestMiddle =
    (WINDOW_ENDS.earliest + WINDOW_STARTS.earliest) / 2 +
    trace.lateMs(Date.parse(ledger.latest!.at)) -
    (STEP_LATE_MS - SCRAPE_MS);
  const baselineAt = Date.parse(ledger.baseline!.at);
  const lastAt = Date.parse(ledger.latest!.at);
  const hours = (lastAt - baselineAt) / 3_600_000;
  const savings: number[] = [];
  const strays: number[] = [];
  for (let before = latestMiddle; before <= earliestMiddle; before += 250) {
    const [from, to] = [baselineAt - before, lastAt - before];
    const wouldHaveSpent = counterfactual.usd(to) - counterfactual.usd(from);
    savings.push(wouldHaveSpent - (trace.usd(to) - trace.usd(from)));
    strays.push(Math.abs(ledger.baseline!.usdPerHour * hours - wouldHaveSpent));
  }
  const measurement = TOTAL_TOLERANCE * ledger.baseline!.usdPerHour * hours + ledger.samples * HALF_CENT;
  return compare(
    'dollars saved',
    ledger.savedUsd,
    { low: Math.min(...savings), high: Math.max(...savings) },
    measurement + Math.max(...strays),
  );
}

const outsideTolerance = (rows: Comparison[]) => rows.filter(({ error, tolerance }) => Math.abs(error) > tolerance);

const engineMetric = async (name: string, playbook: string) =>
  (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.playbook === playbook)?.value;

const SAVINGS = `
severity: S2
match: [alertname="LLMSpendBurnRateHigh"]
target: route
savings:
  costRate: '${COST_RATE}'
  every: ${EVERY_MS / 1000}s
`;

test('a run that cuts cost: each rate the ledger sampled and the dollars it saved match what the platform spent', async () => {
  const playbook = `
name: cut-cost-measured
description: caches harder, then tiers down, each change held long enough to measure
${SAVINGS}
steps:
  - id: aggressive-cache
    action: gateway.setRoutePolicy
    params: { policy: { cacheMode: aggressive } }
  # An approval nobody answers is a timed pause: the cache alone stays in force until a sample's
  # rate window lies wholly after it, before the next change.
  - id: hold-the-cache
    approval: { summary: 'Tier down once the cache is measured', timeout: ${(WINDOW_MS + EVERY_MS) / 1000}s, onTimeout: approve }
  - id: tier-distilled
    action: gateway.setRoutePolicy
    params: { policy: { modelTier: distilled } }
`;
  const { summary, ledger, sampled } = await runUntilSettled(playbook, { route: 'chat', tenant: 'acme' }, 2);
  expect(summary.state).toBe('rolled-back');
  expect(summary.applied.map(({ stepId }) => stepId)).toEqual(['aggressive-cache', 'tier-distilled']);
  const trace = spent.get('acme/chat')!;
  const rows = compareRates(trace, sampled, summary.applied);
  rows.push(compareTotal(ledger, trace, counterfactualSpend('acme', 'chat')));
  expect(outsideTolerance(rows)).toEqual([]);
  expect(ledger.savedUsd).toBeGreaterThan(0);
  expect(await engineMetric('finops_soar_saved_usd_total', 'cut-cost-measured')).toBeCloseTo(ledger.savedUsd, 2);
});

test('a run that raises cost: the ledger shows a negative saving the size of what the platform spent more', async () => {
  // Embeddings are served from the standard tier; premium costs ten times as much per token.
  const playbook = `
name: raise-cost-measured
description: tiers the route up
${SAVINGS}
steps:
  - id: tier-premium
    action: gateway.setRoutePolicy
    params: { policy: { modelTier: premium } }
`;
  const { summary, ledger, sampled } = await runUntilSettled(playbook, { route: 'embeddings', tenant: 'acme' }, 1);
  expect(summary.state).toBe('rolled-back');
  const trace = spent.get('acme/embeddings')!;
  const rows = compareRates(trace, sampled, summary.applied);
  rows.push(compareTotal(ledger, trace, counterfactualSpend('acme', 'embeddings')));
  expect(outsideTolerance(rows)).toEqual([]);
  expect(ledger.savedUsd).toBeLessThan(0);
  expect(ledger.savedUsdPerHour).toBeLessThan(0);
  expect(await engineMetric('finops_soar_added_cost_usd_total', 'raise-cost-measured')).toBeCloseTo(
    -ledger.savedUsd,
    2,
  );
  expect(await engineMetric('finops_soar_saved_usd_total', 'raise-cost-measured')).toBeUndefined();
});
