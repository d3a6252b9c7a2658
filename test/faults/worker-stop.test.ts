// Fault matrix 5 (issue 13): the worker stopped with SIGTERM (a deploy, a node drain) while an activity is in
// flight: it finishes the activity in hand or hands the task back, and nothing is applied twice.
import { waitFor } from '../helpers/wait';
import {
  countGateway,
  expectOneRunRolledBack,
  GATEWAY_EFFECTS,
  gatewayAlert,
  gatewayEffects,
  gatewayRunId,
  resolved,
  ROUTE,
} from './checks';
import { FaultReport } from './report';
import { startFaultStack, type FaultStack } from './stack';

let stack: FaultStack;
const report = new FaultReport(__filename);

beforeAll(async () => {
  stack = await startFaultStack();
});

afterAll(async () => {
  await stack?.close();
  report.write();
});

test('SIGTERM while the gateway applies a change: the worker finishes it, the restarted one goes on, nothing twice', async () => {
  const tenant = 'sigterm-mid-activity';
  const id = gatewayRunId(tenant);
  // The first change is applied at the gateway and its answer held, so the activity is in flight when the signal
  // comes.
  stack.gateway.faults.hold.arm((method, path) => method === 'PATCH' && path.endsWith(`/tenants/${tenant}/policy`));
  expect(await stack.post([gatewayAlert(tenant)])).toBe(200);
  await waitFor('the first change held at the gateway', () => stack.gateway.faults.hold.held.length === 1 || undefined);
  expect(gatewayEffects(stack, tenant)).toEqual([GATEWAY_EFFECTS[0]]);

  const stopping = stack.worker.stop('SIGTERM');
  // Shutting down, it no longer says it is ready; the activity is still in hand.
  await waitFor('the worker to be shutting down', async () => !(await stack.worker.ready()) || undefined);
  stack.gateway.faults.hold.release();
  await stopping;
  // It exited by itself, not killed: the tasks in hand were finished or handed back.
  expect(stack.worker.gone).toBe('exit code 0');

  await stack.worker.start();
  await stack.waitForState(id, 'mitigated');
  expect(await stack.post([resolved(gatewayAlert(tenant))])).toBe(200);
  await expectOneRunRolledBack(stack, id);
  expect(gatewayEffects(stack, tenant)).toEqual(GATEWAY_EFFECTS);
  // Finished, not abandoned: no attempt failed or timed out, so nothing (a Slack message has no idempotency key)
  // was sent a second time by a retry.
  const history = await stack.client.workflow.getHandle(id).fetchHistory();
  const lost = (history.events ?? []).filter(
    (event) => event.activityTaskFailedEventAttributes || event.activityTaskTimedOutEventAttributes,
  );
  expect(lost).toEqual([]);
  expect(stack.gateway.store.get({ route: ROUTE, tenant }).policy).toEqual({});
  report.record({
    name: 'SIGTERM during an activity',
    faultsInjected: 1,
    alertsSent: 1,
    alertsLost: 0,
    ...countGateway(stack, tenant),
  });
});
