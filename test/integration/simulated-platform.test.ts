// The simulated platform `npm start` runs, through the clients the worker uses: GPU saturation on
// a deployment grows its queue; scaling it out through the official Kubernetes client drains the
// queue; the deferrable batch jobs and the buckets are there for the capacity and storage playbooks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubernetesAdapter, type KubernetesAdapter } from '../../kubernetes/kubernetes-client';
import { kubeconfigYaml } from '../../simulator/kubernetes-api';
import { SIMULATOR_BUCKETS, startSimulatedPlatform, type SimulatedPlatform } from '../../simulator/simulated-platform';
import { testS3 } from '../helpers/activities';
import { GATEWAY_TOKEN, silentLogger } from '../helpers/simulator';

const START = Date.parse('2026-11-30T15:00:00Z'); // the daily peak
const DEPLOYMENT = { namespace: 'inference', name: 'llm-premium-us-east-1' };
const workDir = mkdtempSync(join(tmpdir(), 'finops-soar-platform-'));

let platform: SimulatedPlatform;
let kubernetes: KubernetesAdapter;

beforeAll(async () => {
  platform = await startSimulatedPlatform({ token: GATEWAY_TOKEN, logger: silentLogger(), seed: 7, startMs: START });
  const kubeconfig = join(workDir, 'kubeconfig.yaml');
  writeFileSync(kubeconfig, kubeconfigYaml({ simulator: platform.urls.kubernetes }, GATEWAY_TOKEN, 'simulator'));
  kubernetes = await createKubernetesAdapter({ kubeconfig, requestTimeoutMs: 5_000 });
});

afterAll(async () => {
  await platform?.close();
  rmSync(workDir, { recursive: true, force: true });
});

const premium = () => platform.model.deploymentStates().find(({ name }) => name === DEPLOYMENT.name)!;
const advanceMinutes = (minutes: number) => platform.model.advance(platform.model.nowMs + minutes * 60_000);

test('a GPU saturation grows the queue; replicas added through the Kubernetes API drain it', async () => {
  expect(await kubernetes.readScale(DEPLOYMENT)).toBe(10);
  advanceMinutes(1);
  expect(premium()).toMatchObject({ replicas: 10, queueDepth: 0 });

  platform.model.injectIncident({ kind: 'gpu_saturation', deployment: DEPLOYMENT.name, magnitude: 2 });
  advanceMinutes(2);
  const saturated = premium();
  expect(saturated.utilization).toBe(1);
  expect(saturated.queueDepth).toBeGreaterThan(0);

  await kubernetes.setScale(DEPLOYMENT, 24);
  advanceMinutes(1);
  const scaled = premium();
  expect(scaled.replicas).toBe(24);
  expect(scaled.queueDepth).toBeLessThan(saturated.queueDepth);
  advanceMinutes(5);
  expect(premium()).toMatchObject({ queueDepth: 0 });
  expect(premium().utilization).toBeLessThan(1);

  const metrics = await (await fetch(`${platform.urls.gateway}/metrics`)).text();
  expect(metrics).toMatch(/^inference_queue_depth\{[^}]*deployment="llm-premium-us-east-1"[^}]*\} 0$/m);
});

test('the batch jobs a capacity playbook may defer carry the deferrable label; billing does not', async () => {
  const deferrable = await kubernetes.listBatch('cronjobs', 'inference', 'finops-soar.io/deferrable=true');
  expect(deferrable.map(({ name }) => name).sort()).toEqual([
    'distill-finetune',
    'embeddings-backfill',
    'nightly-eval',
  ]);
  expect(deferrable.every(({ suspend }) => !suspend)).toBe(true);
  expect((await kubernetes.readHpa(DEPLOYMENT))?.maxReplicas).toBe(20);
});

test('its buckets answer the S3 lifecycle API, with no configuration yet', async () => {
  for (const bucket of SIMULATOR_BUCKETS) expect(await testS3(platform.urls.s3).getLifecycle(bucket)).toBeNull();
});
