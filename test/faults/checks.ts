// What every fault case asserts, counted at the servers: the run is one execution and ended rolled back, and each
// change (and each undo) reached the gateway, Kubernetes or S3 exactly once.
import type { Alert } from '../../alerts/alertmanager';
import { alert, resolved } from '../helpers/alerts';
import { duplicates } from './report';
import { runId, type FaultStack } from './stack';

export const ROUTE = 'chat';

export const gatewayAlert = (tenant: string, alertname = 'FaultMatrixGateway'): Alert =>
  alert({ alertname, route: ROUTE, tenant });
export const gatewayRunId = (tenant: string, playbook = 'fault-gateway') =>
  runId(playbook, `route=${ROUTE},tenant=${tenant}`);
export const deploymentAlert = (deployment: string): Alert =>
  alert({ alertname: 'FaultMatrixDeployment', namespace: 'inference', deployment });
export const deploymentRunId = (deployment: string) =>
  runId('fault-deployment', `namespace=inference,deployment=${deployment}`);
export const bucketAlert = (bucket: string): Alert => alert({ alertname: 'FaultMatrixBucket', bucket });
export const bucketRunId = (bucket: string) => runId('fault-bucket', `bucket=${bucket}`);
export { resolved };

/** The two changes of fault-gateway (and fault-approval), then their undo, newest first. */
export const GATEWAY_EFFECTS = [
  { maxInputTokens: 8192 },
  { cacheMode: 'aggressive' },
  { cacheMode: null },
  { maxInputTokens: null },
];

export interface Counted {
  effects: number;
  effectsDuplicated: number;
}

/** The tenant's policy changes at the gateway, in order. */
export const gatewayEffects = (stack: FaultStack, tenant: string) =>
  stack.gateway.store.changes.filter((c) => c.route === ROUTE && c.tenant === tenant).map((c) => c.patch);

export function countGateway(stack: FaultStack, tenant: string): Counted {
  const effects = gatewayEffects(stack, tenant);
  return { effects: effects.length, effectsDuplicated: duplicates(effects, (e) => JSON.stringify(e)) };
}

/** The scale and HPA changes the Kubernetes server applied to the deployment (the annotations are bookkeeping). */
export function kubeEffects(stack: FaultStack, deployment: string): unknown[] {
  const paths = [
    `/apis/apps/v1/namespaces/inference/deployments/${deployment}/scale`,
    `/apis/autoscaling/v2/namespaces/inference/horizontalpodautoscalers/${deployment}`,
  ];
  return stack.kube.applied
    .filter((request) => paths.includes(request.path))
    .map((request) => ({
      path: request.path.split('/').slice(-2).join('/'),
      spec: (request.body as { spec?: unknown }).spec,
    }));
}

/** The run is one execution, and it ended rolled back. */
export async function expectOneRunRolledBack(stack: FaultStack, workflowId: string): Promise<void> {
  expect(await stack.result(workflowId)).toBe('rolled-back');
  expect(await stack.executions(workflowId)).toBe(1);
}
