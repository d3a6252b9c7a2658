// End to end with the real Alertmanager (Debian's prometheus-alertmanager 0.25): an alert posted to
// Alertmanager reaches the ingress through its webhook receiver with bearer auth, the playbook
// changes the gateway, and Alertmanager's resolved notification rolls the change back.
import type { FastifyInstance } from 'fastify';
import { playbookRunId } from '../../workflows/ids';
import { statusQuery } from '../../workflows/playbook-run/definitions';
import type { playbookRun } from '../../workflows/playbook-run/playbook-run';
import { startAlertmanager, type RunningAlertmanager } from '../helpers/alertmanager';
import { startIngress } from '../helpers/ingress';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { startHarness, type Harness } from '../helpers/workflow-harness';

let harness: Harness;
let ingress: FastifyInstance;
let askingIngress: FastifyInstance;
const LOST_QUEUE = 'lost-resolution';
let alertmanager: RunningAlertmanager | undefined;
let alertmanagerUrl: string;

beforeAll(async () => {
  harness = await startHarness();
  const port = await freePort();
  alertmanagerUrl = `http://127.0.0.1:${port}`;
  // Two peers as for an HA pair: the first is down (nothing on port 1), so the second is read.
  const started = await startIngress(harness, {
    runDefaults: { cooldownMs: 500 },
    alertmanagerUrls: ['http://127.0.0.1:1', alertmanagerUrl],
  });
  ingress = started.app;
  const ingressUrl = started.url;
  // Runs that ask Alertmanager after 2 s without a notification, on a worker that can reach it.
  await harness.startWorker(LOST_QUEUE, { alertmanagerUrls: [alertmanagerUrl] });
  const asking = await startIngress(harness, {
    taskQueue: LOST_QUEUE,
    runDefaults: { cooldownMs: 500, staleAfterMs: 2_000 },
    alertmanagerUrls: [alertmanagerUrl],
  });
  askingIngress = asking.app;

  // group_wait/group_interval of 1s so notifications (and the resolution) flow within the test.
  alertmanager = await startAlertmanager(
    port,
    (tokenFile) => `route:
  receiver: finops-soar
  group_by: [alertname, route, tenant]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    # One notification per route here, cut to a single alert: the ingress must read the rest.
    - matchers: ['route="summarize"']
      receiver: finops-soar-truncated
      group_by: [alertname, route]
    # No resolved notifications: the run must find out the alert is gone by asking.
    - matchers: ['route="embeddings"']
      receiver: finops-soar-no-resolved
receivers:
  - name: finops-soar
    webhook_configs:
      - url: ${ingressUrl}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: ${tokenFile}
  - name: finops-soar-no-resolved
    webhook_configs:
      - url: ${asking.url}
        send_resolved: false
        http_config:
          authorization:
            type: Bearer
            credentials_file: ${tokenFile}
  - name: finops-soar-truncated
    webhook_configs:
      - url: ${ingressUrl}
        max_alerts: 1
        http_config:
          authorization:
            type: Bearer
            credentials_file: ${tokenFile}
`,
  );
});

afterAll(async () => {
  // Gone before the test's process ends: a child still running keeps it from exiting.
  await alertmanager?.stop();
  await ingress?.close();
  await askingIngress?.close();
  await harness?.close();
});

async function postAlerts(targets: Array<{ route: string; tenant: string }>, endsAt?: string) {
  await alertmanager!.postAlerts(
    targets.map(({ route, tenant }) => ({
      labels: { alertname: 'LLMInputTokensPerRequestHigh', severity: 'S2', route, tenant, model: 'llama-3-70b' },
      annotations: { summary: `Input tokens per request on ${route}/${tenant} are 3.4x the baseline` },
      startsAt: '2026-11-28T10:00:00Z',
      ...(endsAt ? { endsAt } : {}),
      generatorURL: 'http://prometheus.test:9090/graph',
    })),
  );
}

const tenantPolicy = (route: string, tenant: string) => harness.simulator.store.get({ route, tenant }).policy;

test('an alert fired in Alertmanager changes the gateway, and its resolution rolls the change back', async () => {
  await postAlerts([{ route: 'chat', tenant: 'acme' }]);
  await waitFor('the context cap at the gateway', () => tenantPolicy('chat', 'acme').maxInputTokens === 8192, 60_000);

  await postAlerts([{ route: 'chat', tenant: 'acme' }], new Date().toISOString());
  const handle = harness.env.client.workflow.getHandle<typeof playbookRun>(
    playbookRunId('cap-context', 'route=chat,tenant=acme'),
  );
  expect((await handle.result()).state).toBe('rolled-back');
  expect(tenantPolicy('chat', 'acme')).toEqual({});
  expect(harness.simulator.store.changes.filter((c) => c.route === 'chat').map((c) => c.patch)).toEqual([
    { maxInputTokens: 8192 },
    { maxInputTokens: null },
  ]);
});

test('a notification truncated by max_alerts still starts a run for every alert of the group', async () => {
  const tenants = ['initech', 'hooli', 'umbrella'];
  await postAlerts(tenants.map((tenant) => ({ route: 'summarize', tenant })));
  for (const tenant of tenants) {
    await waitFor(
      `the context cap for ${tenant}`,
      () => tenantPolicy('summarize', tenant).maxInputTokens === 8192,
      60_000,
    );
  }
  expect(harness.simulator.store.changes.filter((c) => c.route === 'summarize')).toHaveLength(tenants.length);
});

test('a resolution Alertmanager never sends (send_resolved: false) is found by asking it, and the change is rolled back', async () => {
  await postAlerts([{ route: 'embeddings', tenant: 'acme' }]);
  await waitFor(
    'the context cap at the gateway',
    () => tenantPolicy('embeddings', 'acme').maxInputTokens === 8192,
    60_000,
  );
  // Resolved in Alertmanager, which tells nobody.
  await postAlerts([{ route: 'embeddings', tenant: 'acme' }], new Date().toISOString());
  const handle = harness.env.client.workflow.getHandle<typeof playbookRun>(
    playbookRunId('cap-context', 'route=embeddings,tenant=acme'),
  );
  const summary = await handle.result();
  expect(summary.state).toBe('rolled-back');
  expect(summary.rollbackReason).toMatch(
    /^no notification for \d+(\.\d+)?s and Alertmanager no longer holds the alert: resolved by the run and stayed resolved for the 0\.5s cooldown$/,
  );
  const status = await handle.query(statusQuery);
  expect(status.notifications.received).toBe(1);
  expect(tenantPolicy('embeddings', 'acme')).toEqual({});
  expect(harness.simulator.store.changes.filter((c) => c.route === 'embeddings').map((c) => c.patch)).toEqual([
    { maxInputTokens: 8192 },
    { maxInputTokens: null },
  ]);
});
