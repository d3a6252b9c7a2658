// Fault matrix 3 (issue 13): the ingress down while the real Alertmanager (Debian's prometheus-alertmanager) keeps
// sending: its deliveries fail, it retries at each group_interval, and once the ingress is back every alert gets
// its one run and every run ends rolled back.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INGRESS_TOKEN } from '../helpers/ingress';
import { supervise, type SupervisedChild } from '../helpers/output';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { countGateway, expectOneRunRolledBack, GATEWAY_EFFECTS, gatewayEffects, gatewayRunId, ROUTE } from './checks';
import { FaultReport } from './report';
import { startFaultStack, type FaultStack } from './stack';

const ALERTMANAGER = 'prometheus-alertmanager';
let stack: FaultStack;
let alertmanager: SupervisedChild | undefined;
let alertmanagerUrl: string;
const report = new FaultReport(__filename);
const workDir = mkdtempSync(join(tmpdir(), 'finops-soar-faults-am-'));

beforeAll(async () => {
  if (spawnSync(ALERTMANAGER, ['--version']).error)
    throw new Error(`${ALERTMANAGER} is not installed: apt-get install prometheus-alertmanager (bash .ci/run does it)`);
  stack = await startFaultStack();
  const port = await freePort();
  alertmanagerUrl = `http://127.0.0.1:${port}`;
  writeFileSync(join(workDir, 'token'), INGRESS_TOKEN);
  // group_wait and group_interval of 1 s, as in test/e2e: a failed delivery is tried again at the next interval.
  writeFileSync(
    join(workDir, 'alertmanager.yml'),
    `route:
  receiver: finops-soar
  group_by: [alertname, route, tenant]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: finops-soar
    webhook_configs:
      - url: ${stack.ingress.url}/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: ${join(workDir, 'token')}
`,
  );
  const child = spawn(
    ALERTMANAGER,
    [
      `--config.file=${join(workDir, 'alertmanager.yml')}`,
      `--storage.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  alertmanager = supervise('alertmanager', child);
  await waitFor('Alertmanager to be ready', async () => (await fetch(`${alertmanagerUrl}/-/ready`)).ok || undefined);
});

afterAll(async () => {
  await alertmanager?.stop();
  await stack?.close();
  rmSync(workDir, { recursive: true, force: true });
  report.write();
});

async function postToAlertmanager(tenants: string[], endsAt?: string) {
  const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(
      tenants.map((tenant) => ({
        labels: { alertname: 'FaultMatrixGateway', severity: 'S2', route: ROUTE, tenant },
        annotations: { summary: `fault matrix: ${tenant}` },
        startsAt: '2026-11-28T10:00:00Z',
        ...(endsAt ? { endsAt } : {}),
      })),
    ),
  });
  expect(response.status).toBe(200);
}

/** Webhook deliveries Alertmanager counts as failed (its own metric). */
async function failedDeliveries(): Promise<number> {
  const metrics = await (await fetch(`${alertmanagerUrl}/metrics`)).text();
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith('alertmanager_notifications_failed_total{integration="webhook"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('alerts sent while the ingress is down are delivered by Alertmanager once it is back: none lost, none twice', async () => {
  const tenants = ['am-down-a', 'am-down-b', 'am-down-c'];
  await stack.ingress.stop();
  await postToAlertmanager(tenants);
  // Alertmanager tried (one notification per group) and failed: the alerts exist only in its retries now.
  await waitFor(
    'Alertmanager to fail delivering each group',
    async () => (await failedDeliveries()) >= tenants.length || undefined,
  );
  for (const tenant of tenants) expect(gatewayEffects(stack, tenant)).toEqual([]);

  await stack.ingress.start();
  for (const tenant of tenants) await stack.waitForState(gatewayRunId(tenant), 'mitigated');
  // Resolved in Alertmanager, which tells the ingress.
  await postToAlertmanager(tenants, new Date().toISOString());
  for (const tenant of tenants) {
    await expectOneRunRolledBack(stack, gatewayRunId(tenant));
    expect(gatewayEffects(stack, tenant)).toEqual(GATEWAY_EFFECTS);
  }
  const counted = tenants.map((tenant) => countGateway(stack, tenant));
  report.record({
    name: 'Ingress down while the real Alertmanager keeps sending',
    faultsInjected: 1,
    alertsSent: tenants.length,
    alertsLost: 0,
    effects: counted.reduce((sum, c) => sum + c.effects, 0),
    effectsDuplicated: counted.reduce((sum, c) => sum + c.effectsDuplicated, 0),
  });
});
