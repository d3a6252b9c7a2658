// The weekly review's runs and CAPAs from real runs on a real Temporal dev server: a cost run whose change saved
// money, one whose change added cost (both ended), one still going; the review's section sums each run's own savings
// ledger (its summary), and lists the CAPAs the cost runs opened, as capa/capa-query.ts answers them.
import { openCapas } from '../../capa/capa-query';
import type { GatewayAdapter } from '../../gateway/adapter';
import { weekOfRuns } from '../../reviews/weekly-gather';
import { capaLines } from '../../reviews/review-capas';
import { cents } from '../../reviews/weekly-figures';
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { alert, resolved } from '../helpers/alerts';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const QUEUE = 'review-runs';
const CAPA = { families: ['cost'], notifyTo: ['finops'], remindEveryMs: 3_600_000 };
let harness: Harness;
let prometheus: RunningPrometheus;

/** Each route's cost rate in $/hour, as the exporter serves it. */
const cost: Record<string, number> = { chat: 100, summarize: 100 };
const exposition = () =>
  `# TYPE test_cost_usd_per_hour gauge\n${Object.entries(cost)
    .map(([route, usd]) => `test_cost_usd_per_hour{route="${route}"} ${usd}\n`)
    .join('')}`;
async function setCost(route: string, usd: number) {
  cost[route] = usd;
  prometheus.metrics.text = exposition();
  await waitFor(`${route} at $${usd}/h in Prometheus`, async () => {
    const query = encodeURIComponent(`max(test_cost_usd_per_hour{route="${route}"})`);
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${query}`)).json()) as {
      data: { result: Array<{ value: [number, string] }> };
    };
    return Number(body.data.result[0]?.value[1]) === usd || undefined;
  });
}

/** The simulator's gateway, where the cache cuts a route's cost to $60/h and turning it off raises it to $150/h. */
const costFollows = (gateway: GatewayAdapter): GatewayAdapter => ({
  getRoutePolicy: (scope) => gateway.getRoutePolicy(scope),
  async patchRoutePolicy(scope, patch, options) {
    const change = await gateway.patchRoutePolicy(scope, patch, options);
    if (patch.cacheMode === 'aggressive') await setCost(scope.route, 60);
    if (patch.cacheMode === 'off') await setCost(scope.route, 150);
    return change;
  },
  getTenantQuota: (tenant) => gateway.getTenantQuota(tenant),
  patchTenantQuota: (tenant, patch, options) => gateway.patchTenantQuota(tenant, patch, options),
  getRegionWeights: (route) => gateway.getRegionWeights(route),
  setRegionWeights: (route, update, options) => gateway.setRegionWeights(route, update, options),
});

const playbook = (name: string, cacheMode: string) => `
name: ${name}
description: sets the route's cache and attributes what it saves
severity: S2
family: cost
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
savings:
  costRate: 'max(test_cost_usd_per_hour{route="{{ labels.route }}"})'
  every: 2s
  reportTo: [finops]
steps:
  - id: cache
    action: gateway.setRoutePolicy
    params: { policy: { cacheMode: ${cacheMode} } }
`;
const STILL_RUNNING = `
name: cap-context-open
description: caps the context, and stays until its alert resolves
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
steps:
  - id: cap
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 4000 } }
`;

beforeAll(async () => {
  harness = await startHarness();
  prometheus = await startPrometheus(exposition());
  await harness.startWorker(QUEUE, { gateway: costFollows(harness.simulator.client), prometheusUrl: prometheus.url });
});
afterAll(async () => {
  await harness?.close();
  await prometheus?.close();
});

/** Fires the playbook, waits for a sample of the changed rate in its ledger, resolves it, and answers its summary. */
async function endedRun(name: string, cacheMode: string, route: string, tenant: string, changedRate: number) {
  const firing = alert({ route, tenant }, { fingerprint: `fp-review-${route}` });
  const handle = await harness.fire(playbook(name, cacheMode), firing, {
    taskQueue: QUEUE,
    cooldownMs: 300,
    capa: CAPA,
  });
  await waitFor(`${name}'s ledger to sample $${changedRate}/h`, async () => {
    const { savings } = await handle.query(statusQuery);
    return (savings?.latest?.usdPerHour === changedRate && savings.savedUsd !== 0) || undefined;
  });
  await handle.signal(alertNotificationSignal, notification(resolved(firing)));
  return handle.result();
}

test("the week's runs: what each ended run's own ledger saved or added, per playbook, and those still running", async () => {
  const saver = await endedRun('cache-on-saves', 'aggressive', 'chat', 'acme', 60);
  const adder = await endedRun('cache-off-adds', 'off', 'summarize', 'globex', 150);
  const saved = saver.savings!.savedUsd;
  const added = -adder.savings!.savedUsd;
  expect(saved).toBeGreaterThan(0);
  expect(added).toBeGreaterThan(0);
  await harness.fire(STILL_RUNNING, alert({ route: 'embeddings', tenant: 'initech' }), { taskQueue: QUEUE });

  const now = Date.now();
  const week = [new Date(now - 7 * 86_400_000).toISOString(), new Date(now + 60_000).toISOString()] as const;
  const problems: string[] = [];
  // Temporal's visibility store catches up with closed runs shortly after they close.
  const runs = await waitFor('both ended runs and the running one listed', async () => {
    const listed = await weekOfRuns(harness.env.client, ...week, problems);
    return listed.ended === 2 && listed.running === 1 ? listed : undefined;
  });
  expect(runs).toEqual({
    ended: 2,
    running: 1,
    savedUsd: cents(saved),
    addedUsd: cents(added),
    byPlaybook: [
      { playbook: 'cache-on-saves', runs: 1, savedUsd: cents(saved), addedUsd: 0 },
      { playbook: 'cache-off-adds', runs: 1, savedUsd: 0, addedUsd: cents(added) },
    ],
  });
  expect(problems).toEqual([]);
  // A week that ended before these runs holds none of them.
  const before = [new Date(now - 14 * 86_400_000).toISOString(), new Date(now - 7 * 86_400_000).toISOString()] as const;
  expect(await weekOfRuns(harness.env.client, ...before, [])).toEqual({
    ended: 0,
    running: 0,
    savedUsd: 0,
    addedUsd: 0,
    byPlaybook: [],
  });
}, 90_000);

test('the open CAPAs the cost runs opened, as the review lists them', async () => {
  const capas = await waitFor('the two CAPAs listed', async () => {
    const open = await openCapas(harness.env.client);
    return open.length === 2 ? open : undefined;
  });
  expect(
    capas.map(({ playbook, target, tenant, route, owner, dueAt, overdue }) => ({
      playbook,
      target,
      tenant,
      route,
      owner,
      dueAt,
      overdue,
    })),
  ).toEqual([
    {
      playbook: 'cache-on-saves',
      target: 'route=chat,tenant=acme',
      tenant: 'acme',
      route: 'chat',
      owner: null,
      dueAt: null,
      overdue: false,
    },
    {
      playbook: 'cache-off-adds',
      target: 'route=summarize,tenant=globex',
      tenant: 'globex',
      route: 'summarize',
      owner: null,
      dueAt: null,
      overdue: false,
    },
  ]);
  expect(capaLines(capas)).toEqual(
    capas.map(
      (capa) =>
        `${capa.capaId}: ${capa.title} (${capa.playbook} on ${capa.target}), owner none yet, due not set, opened ${capa.openedAt.slice(0, 10)}`,
    ),
  );
});
