// The engine's own metrics, as Prometheus scrapes them from the real processes (issue 17): the worker's /metrics holds
// the runs' counters (recorded in workflow code with the SDK's metricMeter), runs by live state (from Temporal's
// visibility) and the Temporal SDK's worker metrics, beside the engine's savings; the ingress's /metrics holds its
// alerts and every request's latency by endpoint and status. A real worker process on a real dev server (the fault
// matrix's stack), driven through the ingress as Alertmanager and a person would.
import { ALL_TARGETS, readsWorkerProcess, substitute } from '../helpers/dashboard-queries';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { waitFor } from '../helpers/wait';
import { gatewayAlert, gatewayRunId, resolved } from '../faults/checks';
import { startFaultStack, type FaultStack } from '../faults/stack';

let stack: FaultStack;
let prometheus: RunningPrometheus | undefined;

beforeAll(async () => {
  stack = await startFaultStack();
}, 240_000);
afterAll(async () => {
  await prometheus?.close();
  await stack?.close();
});

/** The sum of the samples of `name` whose labels include `labels`, in Prometheus's text format. */
function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const own = new Map<string, string>();
    for (const [, label, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) own.set(label!, value!);
    if (Object.entries(labels).every(([label, value]) => own.get(label) === value)) sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}

const scrape = async (url: string) => (await fetch(url)).text();
const workerMetrics = () => scrape(stack.worker.metricsUrl);
const ingressMetrics = () => scrape(`${stack.ingress.url}/metrics`);

test('the worker counts runs, changes and approvals once each, reports runs by live state, and serves the Temporal SDK metrics', async () => {
  const plain = gatewayAlert('metrics-plain');
  const asking = gatewayAlert('metrics-asking', 'FaultMatrixApproval');
  const plainRun = gatewayRunId('metrics-plain');
  const askingRun = gatewayRunId('metrics-asking', 'fault-approval');
  expect(await stack.post([plain, asking])).toBe(200);
  await stack.waitForState(plainRun, 'mitigated');
  await stack.waitForState(askingRun, 'awaiting-approval');

  // Counted from Temporal's visibility every 15 s by the worker.
  await waitFor(
    'a mitigated run and one awaiting approval in finops_soar_runs',
    async () => {
      const text = await workerMetrics();
      return (
        (sampleOf(text, 'finops_soar_runs', { state: 'mitigated' }) === 1 &&
          sampleOf(text, 'finops_soar_runs', { state: 'awaiting-approval' }) === 1) ||
        undefined
      );
    },
    60_000,
  );

  await stack.approve(askingRun, 'approve-cache');
  await stack.waitForState(askingRun, 'mitigated');
  expect(await stack.post([resolved(plain), resolved(asking)])).toBe(200);
  expect(await stack.result(plainRun)).toBe('rolled-back');
  expect(await stack.result(askingRun)).toBe('rolled-back');

  const ended = await waitFor(
    'both runs ended in the metrics',
    async () => {
      const text = await workerMetrics();
      return sampleOf(text, 'finops_soar_runs_ended_total', { outcome: 'rolled-back' }) === 2 ? text : undefined;
    },
    60_000,
  );
  const count = (name: string, labels: Record<string, string>) => sampleOf(ended, name, labels);
  for (const playbook of ['fault-gateway', 'fault-approval']) {
    expect(count('finops_soar_runs_started_total', { playbook, severity: 'S2' })).toBe(1);
    expect(count('finops_soar_runs_ended_total', { playbook, outcome: 'rolled-back' })).toBe(1);
    const changes = (result: string) =>
      count('finops_soar_changes_total', { playbook, action: 'gateway.setRoutePolicy', result });
    expect([changes('applied'), changes('undone'), changes('refused')]).toEqual([2, 2, undefined]);
  }
  expect(
    count('finops_soar_approval_decision_seconds_count', { playbook: 'fault-approval', outcome: 'approved' }),
  ).toBe(1);
  // The Temporal SDK's own worker metrics, on the same port.
  expect(count('temporal_workflow_completed_total', {})).toBeGreaterThanOrEqual(2);
  expect(count('temporal_activity_execution_latency_seconds_count', {})).toBeGreaterThan(0);
}, 240_000);

test('the ingress times every request by endpoint and status, its refusals too, and counts the alerts it took', async () => {
  const before = await ingressMetrics();
  const webhook = { endpoint: '/alerts/alertmanager' };
  const answered = (text: string, code: string) =>
    sampleOf(text, 'finops_soar_http_request_duration_seconds_count', { ...webhook, code }) ?? 0;
  expect(await stack.post([gatewayAlert('metrics-ingress')])).toBe(200);
  const invalid = await fetch(`${stack.ingress.url}/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-the-token' },
    body: '{}',
  });
  expect(invalid.status).toBe(401);

  // Timed in fastify's onResponse hook, which runs once the answer is sent: wait for both to be counted.
  const after = await waitFor('the two requests timed', async () => {
    const text = await ingressMetrics();
    return answered(text, '401') > answered(before, '401') ? text : undefined;
  });
  expect(answered(after, '200') - answered(before, '200')).toBe(1);
  expect(answered(after, '401') - answered(before, '401')).toBe(1);
  // A run id never becomes a label: the runs API is counted by its route's template.
  expect(after).not.toContain('metrics-ingress');
  expect(
    sampleOf(after, 'finops_soar_alerts_total', { outcome: 'started-or-signalled', playbook: 'fault-gateway' }),
  ).toBeGreaterThanOrEqual(1);
  // The probes are not counted.
  expect(after).not.toContain('endpoint="/metrics"');
});

// A workflow task fails only on a bug (a nondeterminism after a deploy without patched()): the SDK creates the counter on
// the first one, so a healthy worker gives its panel no data. The query is checked to parse in dashboards.test.ts.
const NO_DATA_WHILE_HEALTHY = ['temporal_workflow_task_execution_failed_total'];

test("the engine dashboard's queries on the worker's metrics answer from a real Prometheus scraping the real worker", async () => {
  // A change refused for good fails its run: an activity failure for the errors panel, a failed run for the outcomes.
  const refused = gatewayAlert('metrics-refused');
  stack.gateway.faults.refuseNext({
    when: (method, path) => method === 'PATCH' && path.endsWith('/tenants/metrics-refused/policy'),
    status: 422,
    message: 'refused by the metrics test',
  });
  expect(await stack.post([refused])).toBe(200);
  const failed = await stack.client.workflow
    .getHandle(gatewayRunId('metrics-refused'))
    .result()
    .then(
      () => 'completed',
      (error: Error) => error.name,
    );
  expect(failed).toBe('WorkflowFailedError');
  // A change the guardrails refuse (core's circuit): a refused change, by its reason.
  const guarded = gatewayAlert('metrics-guarded', 'FaultMatrixGuarded');
  expect(await stack.post([guarded])).toBe(200);
  const skipped = await stack.waitForState(gatewayRunId('metrics-guarded', 'fault-guarded'), 'mitigated');
  expect(skipped.skipped.map(({ stepId }) => stepId)).toEqual(['break-core']);

  prometheus = await startPrometheus('', {
    scrape: [new URL(stack.worker.metricsUrl).host, new URL(stack.ingress.url).host],
  });
  // On every dashboard: the engine's, and the executive's CAPAs.
  const queries = ALL_TARGETS.filter(
    ({ expr }) => readsWorkerProcess(expr) && !NO_DATA_WHILE_HEALTHY.some((name) => expr.includes(name)),
  );
  expect(queries.length).toBeGreaterThanOrEqual(8);
  for (const { dashboard, panel, expr } of queries) {
    const concrete = substitute(expr);
    await waitFor(
      `data for the ${dashboard} dashboard's ${panel}: ${concrete}`,
      async () => {
        const response = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(concrete)}`);
        const body = (await response.json()) as { data?: { result: unknown[] } };
        return (body.data?.result.length ?? 0) > 0 || undefined;
      },
      60_000,
    );
  }
}, 240_000);
