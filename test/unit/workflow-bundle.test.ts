// The workflow bundle holds the workflow SDK and the engine's pure modules only. A value imported from a module that
// carries schemas (the step specs, zod) once put 2.8 MB more into it and tripled the worker's memory with 5,000 live
// runs (1 GiB → 3.5 GiB, bench row 5a); playbook/step-back.ts is the pure half workflow code may import.
import { bundleWorkflowCode } from '@temporalio/worker';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

test('the workflow bundle takes no package beyond the Temporal SDK and its own dependencies', async () => {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quiet });
  const packages = new Set([...code.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map(([, name]) => name));
  expect([...packages].sort()).toEqual(['@temporalio/common', '@temporalio/workflow', 'long', 'ms', 'nexus-rpc']);
}, 60_000);
