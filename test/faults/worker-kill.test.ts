// Fault matrix 1 (issue 13): the worker killed with SIGKILL at each point of a run, then restarted; each run
// completes, each change reached the gateway or Kubernetes exactly once. The runs are put at their points first
// and the worker killed once with all of them there: an activity attempt lost with its worker is retried only
// after its start-to-close timeout (30 s), which is then paid once for the file, not once per point.
import { waitFor } from '../helpers/wait';
import {
  countGateway,
  deploymentAlert,
  deploymentRunId,
  expectOneRunRolledBack,
  GATEWAY_EFFECTS,
  gatewayAlert,
  gatewayEffects,
  gatewayRunId,
  kubeEffects,
  resolved,
  ROUTE,
} from './checks';
import { FaultReport } from './report';
import { startFaultStack, type FaultStack } from './stack';

let stack: FaultStack;
const report = new FaultReport(__filename);

const BEFORE = 'kill-before-first-change';
const deploymentPath = (name: string) => `/apis/apps/v1/namespaces/inference/deployments/${name}`;
const APPLYING = 'kill-between-apply-and-record';
const APPROVAL = 'kill-awaiting-approval';
const ROLLBACK = 'kill-mid-rollback';
const DEPLOYMENT = 'kill-scale-out';
const policyPath = (tenant: string) => `/v1/routes/${ROUTE}/tenants/${tenant}/policy`;
const scalePath = `/apis/apps/v1/namespaces/inference/deployments/${DEPLOYMENT}/scale`;

beforeAll(async () => {
  stack = await startFaultStack();
  stack.kube.addDeployment({ namespace: 'inference', name: DEPLOYMENT, replicas: 2 });
  stack.kube.addHpa({ namespace: 'inference', name: DEPLOYMENT, minReplicas: 2, maxReplicas: 8 });
  stack.kube.addDeployment({ namespace: 'inference', name: BEFORE, replicas: 2 });
  stack.kube.addHpa({ namespace: 'inference', name: BEFORE, minReplicas: 2, maxReplicas: 8 });

  // Two runs brought to their points with the worker up: one mitigated (its rollback is next), one waiting for a
  // person.
  expect(await stack.post([gatewayAlert(ROLLBACK)])).toBe(200);
  await stack.waitForState(gatewayRunId(ROLLBACK), 'mitigated');
  expect(await stack.post([gatewayAlert(APPROVAL, 'FaultMatrixApproval')])).toBe(200);
  await stack.waitForState(gatewayRunId(APPROVAL, 'fault-approval'), 'awaiting-approval');

  // The others are held at the wire: the first read of a run that has not changed anything yet (the scale-out
  // reads the deployment first); the first change, applied by the gateway and by Kubernetes but not yet answered;
  // the rollback's first undo, applied but not yet answered.
  stack.gateway.faults.hold.arm(
    (method, path) => method === 'PATCH' && (path === policyPath(APPLYING) || path === policyPath(ROLLBACK)),
  );
  stack.kube.rateFaults.hold.arm(
    (method, path) =>
      (method === 'GET' && path === deploymentPath(BEFORE)) || (method === 'PATCH' && path === scalePath),
  );
  expect(await stack.post([deploymentAlert(BEFORE), gatewayAlert(APPLYING), deploymentAlert(DEPLOYMENT)])).toBe(200);
  expect(await stack.post([resolved(gatewayAlert(ROLLBACK))])).toBe(200);
  // Each of the four points by name, not a count of held answers: on a loaded machine a held read times out and is
  // tried again, and its second try, held too, made four before the scale-out reached its point.
  const points = [
    `GET ${deploymentPath(BEFORE)}`,
    `PATCH ${policyPath(APPLYING)}`,
    `PATCH ${policyPath(ROLLBACK)}`,
    `PATCH ${scalePath}`,
  ];
  await waitFor(
    'every run held at its point',
    () => {
      const held = new Set(
        [...stack.gateway.faults.hold.held, ...stack.kube.rateFaults.hold.held].map(
          ({ method, path }) => `${method} ${path}`,
        ),
      );
      return points.every((point) => held.has(point)) || undefined;
      // Four runs reach their points, one of them through its cooldown into the rollback: under a loaded CI machine
      // that has taken more than the default 30 s.
    },
    90_000,
  );
  // What the held answers stand for is in the servers' state already (or not at all, for the first).
  expect(kubeEffects(stack, BEFORE)).toEqual([]);
  expect(gatewayEffects(stack, APPLYING)).toEqual([GATEWAY_EFFECTS[0]]);
  expect(gatewayEffects(stack, ROLLBACK)).toEqual(GATEWAY_EFFECTS.slice(0, 3));
  expect(kubeEffects(stack, DEPLOYMENT)).toEqual([{ path: `${DEPLOYMENT}/scale`, spec: { replicas: 4 } }]);

  await stack.worker.stop('SIGKILL');
  expect(stack.worker.gone).toBe('SIGKILL');
  // The answers go to connections the dead worker left; the restarted one gets none of them.
  stack.gateway.faults.hold.release();
  stack.kube.rateFaults.hold.release();
  await stack.worker.start();
}, 240_000);

afterAll(async () => {
  await stack?.close();
  report.write();
});

async function completes(tenant: string, playbook = 'fault-gateway', alertname = 'FaultMatrixGateway') {
  const id = gatewayRunId(tenant, playbook);
  await stack.waitForState(id, 'mitigated');
  expect(await stack.post([resolved(gatewayAlert(tenant, alertname))])).toBe(200);
  await expectOneRunRolledBack(stack, id);
  expect(gatewayEffects(stack, tenant)).toEqual(GATEWAY_EFFECTS);
}

const recorded = (name: string, tenant: string) =>
  report.record({ name, faultsInjected: 1, alertsSent: 1, alertsLost: 0, ...countGateway(stack, tenant) });

/** The deployment's run completes, and each of its changes and undos reached Kubernetes once. */
async function deploymentCompletes(name: string) {
  const id = deploymentRunId(name);
  await stack.waitForState(id, 'mitigated');
  expect(await stack.post([resolved(deploymentAlert(name))])).toBe(200);
  await expectOneRunRolledBack(stack, id);
  const effects = kubeEffects(stack, name);
  expect(effects).toEqual([
    { path: `${name}/scale`, spec: { replicas: 4 } },
    { path: `horizontalpodautoscalers/${name}`, spec: { minReplicas: 4 } },
    { path: `horizontalpodautoscalers/${name}`, spec: { minReplicas: 2 } },
    { path: `${name}/scale`, spec: { replicas: 2 } },
  ]);
  expect(stack.kube.get('deployments', 'inference', name)?.spec.replicas).toBe(2);
  return effects;
}

test('killed before the first change: the restarted worker applies each change once', async () => {
  const effects = await deploymentCompletes(BEFORE);
  report.record({
    name: 'SIGKILL before the first change',
    faultsInjected: 1,
    alertsSent: 1,
    alertsLost: 0,
    effects: effects.length,
    effectsDuplicated: 0,
  });
});

test('killed between the gateway applying a change and the run recording it: the retry is answered by the idempotency key', async () => {
  await completes(APPLYING);
  // The retried PATCH carried the first one's key: the gateway answered it without applying it again.
  const keys = stack.gateway.store.changes.filter((c) => c.tenant === APPLYING).map((c) => c.idempotencyKey);
  expect(new Set(keys).size).toBe(keys.length);
  recorded('SIGKILL between applying a change and recording it', APPLYING);
});

test('killed between Kubernetes scaling and the run recording it: not scaled again on retry', async () => {
  const effects = await deploymentCompletes(DEPLOYMENT);
  report.record({
    name: 'SIGKILL between Kubernetes applying a change and recording it',
    faultsInjected: 1,
    alertsSent: 1,
    alertsLost: 0,
    effects: effects.length,
    effectsDuplicated: 0,
  });
});

test('killed while waiting for an approval: the restarted worker takes the decision and goes on', async () => {
  const id = gatewayRunId(APPROVAL, 'fault-approval');
  await stack.waitForState(id, 'awaiting-approval');
  await stack.approve(id, 'approve-cache');
  await completes(APPROVAL, 'fault-approval', 'FaultMatrixApproval');
  // The request for approval was posted to Slack once.
  const requests = stack.slack
    .callsTo('chat.postMessage')
    .filter((call) => JSON.stringify(call.body).includes(`Cache ${APPROVAL}`));
  expect(requests).toHaveLength(1);
  recorded('SIGKILL while waiting for an approval', APPROVAL);
});

test('killed in the middle of a rollback: the restarted worker finishes it, undoing each change once', async () => {
  await expectOneRunRolledBack(stack, gatewayRunId(ROLLBACK));
  expect(gatewayEffects(stack, ROLLBACK)).toEqual(GATEWAY_EFFECTS);
  recorded('SIGKILL in the middle of a rollback', ROLLBACK);
});
