// The HTTP ingress in this process, in front of a workflow harness, with the test playbooks.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildIngressApp, type IngressOptions } from '../../ingress/app';
import { loadPlaybooks } from '../../playbook/playbook-load';
import { INGRESS_TOKEN, TEST_OPERATOR_TOKENS } from './secrets';
import { silentLogger } from './simulator';
import { TASK_QUEUE, type Harness } from './workflow-harness';

export { INGRESS_TOKEN, TEST_OPERATOR_TOKENS } from './secrets';

/**
 * S2 steps: FinOps, SRE or product; S1 steps: U0SRE, U0PRODUCT, U0LEAD or the SRE leads (a group, resolved through
 * Slack).
 */
export const TEST_APPROVERS = {
  default: { S2: ['U0FINOPS', 'U0SRE', 'U0PRODUCT'], S1: ['U0SRE', 'U0PRODUCT', 'U0LEAD', 'sre-leads'] },
};

/** The test playbooks (test/fixtures/playbooks): `cap-context` for alerts, `tier-review` started by hand. */
export const TEST_PLAYBOOKS = loadPlaybooks(join(__dirname, '..', 'fixtures', 'playbooks'));

/** The tests' ingress options on `client`: the test playbooks, tokens and approvers, rates no test reaches. */
export const testIngressOptions = (client: Client, overrides: Partial<IngressOptions> = {}): IngressOptions => ({
  client,
  taskQueue: TASK_QUEUE,
  playbooks: TEST_PLAYBOOKS,
  credentials: { token: INGRESS_TOKEN },
  runDefaults: { cooldownMs: 300 },
  temporalTimeoutMs: 5_000,
  maxInFlight: 64,
  // Tests poll and burst well past the production rates; request-limits.test.ts tests those.
  rateLimits: { webhook: 1e6, runs: 1e6, slack: 1e6, probes: 1e6 },
  approvers: TEST_APPROVERS,
  operatorTokens: TEST_OPERATOR_TOKENS,
  logger: silentLogger(),
  ...overrides,
});

export async function startIngress(
  harness: Harness,
  overrides: Partial<IngressOptions> = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildIngressApp(testIngressOptions(harness.env.client, overrides));
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/alerts/alertmanager` };
}
