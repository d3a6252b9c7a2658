// Fault matrix 2 (issue 13): the Temporal dev server stopped and restarted on its SQLite file in the middle of a
// run: meanwhile the ingress answers 503 (Alertmanager retries those), and afterwards the runs resume where they
// were, each change applied once.
import { waitFor } from '../helpers/wait';
import {
  countGateway,
  expectOneRunRolledBack,
  GATEWAY_EFFECTS,
  gatewayAlert,
  gatewayEffects,
  gatewayRunId,
  resolved,
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

// SIGTERM as an orchestrator stops it; SIGKILL as a crash (or the OOM killer) does, with no chance to flush.
test.each(['SIGTERM', 'SIGKILL'] as const)(
  'Temporal stopped (%s) and restarted on its SQLite file mid-run: 503 meanwhile, then every run resumes and completes once',
  async (signal) => {
    const running = `temporal-${signal.toLowerCase()}-mid-run`;
    const waiting = `temporal-${signal.toLowerCase()}-mitigated`;
    const arriving = `temporal-${signal.toLowerCase()}-alert-while-down`;
    // One run mitigated, waiting for its alert to resolve; another with its first change applied at the gateway and
    // the answer held, so Temporal goes away with an activity in flight.
    expect(await stack.post([gatewayAlert(waiting)])).toBe(200);
    await stack.waitForState(gatewayRunId(waiting), 'mitigated');
    stack.gateway.faults.hold.arm((method, path) => method === 'PATCH' && path.endsWith(`/tenants/${running}/policy`));
    expect(await stack.post([gatewayAlert(running)])).toBe(200);
    await waitFor(
      'the first change held at the gateway',
      () => stack.gateway.faults.hold.held.length === 1 || undefined,
    );

    await stack.temporal.stop(signal);
    stack.gateway.faults.hold.release();
    // Alertmanager's notifications are answered 503 (retry), never 2xx for work Temporal has not accepted.
    expect(await stack.post([gatewayAlert(arriving)])).toBe(503);
    expect(await stack.post([resolved(gatewayAlert(waiting))])).toBe(503);

    await stack.temporal.start();
    // Alertmanager's retries, after Temporal is back.
    await waitFor('the ingress to accept the notifications again', async () => {
      const answered = await stack.post([gatewayAlert(arriving)]);
      return answered === 200 || undefined;
    });
    expect(await stack.post([resolved(gatewayAlert(waiting))])).toBe(200);
    await expectOneRunRolledBack(stack, gatewayRunId(waiting));
    for (const tenant of [running, arriving]) {
      await stack.waitForState(gatewayRunId(tenant), 'mitigated');
      expect(await stack.post([resolved(gatewayAlert(tenant))])).toBe(200);
    }
    for (const tenant of [waiting, running, arriving]) {
      await expectOneRunRolledBack(stack, gatewayRunId(tenant));
      expect(gatewayEffects(stack, tenant)).toEqual(GATEWAY_EFFECTS);
    }
    expect(stack.worker.running).toBe(true);
    const counted = [waiting, running, arriving].map((tenant) => countGateway(stack, tenant));
    report.record({
      name: `Temporal dev server stopped with ${signal} and restarted on its SQLite file`,
      faultsInjected: 1,
      alertsSent: 3,
      alertsLost: 0,
      effects: counted.reduce((sum, c) => sum + c.effects, 0),
      effectsDuplicated: counted.reduce((sum, c) => sum + c.effectsDuplicated, 0),
    });
  },
);
