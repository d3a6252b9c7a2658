// Fault matrix 3 (issue 13): the ingress down while the real Alertmanager (Debian's prometheus-alertmanager) keeps
// sending: its deliveries fail, it retries at each group_interval, and once the ingress is back every alert gets
// its one run and every run ends rolled back.
import { startAlertmanager, type RunningAlertmanager } from '../helpers/alertmanager';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { countGateway, expectOneRunRolledBack, GATEWAY_EFFECTS, gatewayEffects, gatewayRunId, ROUTE } from './checks';
import { FaultReport } from './report';
import { startFaultStack, type FaultStack } from './stack';

let stack: FaultStack;
let alertmanager: RunningAlertmanager | undefined;
const report = new FaultReport(__filename);

beforeAll(async () => {
  stack = await startFaultStack();
  // group_wait and group_interval of 1 s, as in test/e2e: a failed delivery is tried again at the next interval.
  alertmanager = await startAlertmanager(
    await freePort(),
    (tokenFile) => `route:
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
            credentials_file: ${tokenFile}
`,
  );
});

afterAll(async () => {
  await alertmanager?.stop();
  await stack?.close();
  report.write();
});

async function postToAlertmanager(tenants: string[], endsAt?: string) {
  await alertmanager!.postAlerts(
    tenants.map((tenant) => ({
      labels: { alertname: 'FaultMatrixGateway', severity: 'S2', route: ROUTE, tenant },
      annotations: { summary: `fault matrix: ${tenant}` },
      startsAt: '2026-11-28T10:00:00Z',
      ...(endsAt ? { endsAt } : {}),
    })),
  );
}

/** Webhook deliveries Alertmanager counts as failed (its own metric). */
async function failedDeliveries(): Promise<number> {
  const metrics = await (await fetch(`${alertmanager!.url}/metrics`)).text();
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
