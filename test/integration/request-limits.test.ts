// Every endpoint has a body limit and a request rate (ingress/request-limits.ts). Over the rate the webhook sheds
// with 503 + Retry-After, which Alertmanager retries (it drops a notification answered 4xx); the runs API, Slack
// and the probes answer 429 + Retry-After. One kind's rate does not spend another's, and requests without
// credentials spend none (whoever lacks the token cannot starve Alertmanager). Nothing here needs Temporal: the
// client points at a port where nothing listens, and every request is refused before it would be called.
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildIngressApp } from '../../ingress/app';
import { BODY_LIMIT_BYTES, type RateLimits } from '../../ingress/request-limits';
import { INGRESS_TOKEN, testIngressOptions } from '../helpers/ingress';
import { SLACK_SIGNING_SECRET } from '../helpers/slack-api-server';

const connection = Connection.lazy({ address: '127.0.0.1:1' });
const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
  await connection.close();
});

/** An ingress whose rates count over a minute, so that a test's requests all fall into one window. */
function ingress(rateLimits: RateLimits): FastifyInstance {
  const app = buildIngressApp(
    testIngressOptions(new Client({ connection }), {
      taskQueue: 'request-limits',
      temporalTimeoutMs: 1_000,
      slackSigningSecret: SLACK_SIGNING_SECRET,
      rateLimits,
      rateWindowMs: 60_000,
    }),
  );
  apps.push(app);
  return app;
}

const AUTH = { authorization: `Bearer ${INGRESS_TOKEN}`, 'content-type': 'application/json' };
// Each is refused before it reaches Temporal: an invalid webhook payload (400), an invalid manual start (422), an
// unsigned Slack click (401) and liveness.
const REQUESTS = {
  webhook: { method: 'POST', url: '/alerts/alertmanager', headers: AUTH, payload: '{}' },
  runs: { method: 'POST', url: '/v1/runs', headers: AUTH, payload: '{}' },
  slack: {
    method: 'POST',
    url: '/slack/interactivity',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'payload=%7B%7D',
  },
  probes: { method: 'GET', url: '/healthz' },
} as const;
const UNDER_LIMIT = { webhook: 400, runs: 422, slack: 401, probes: 200 };

async function statuses(app: FastifyInstance, kind: keyof typeof REQUESTS, count: number) {
  const answers = [];
  for (let index = 0; index < count; index++) answers.push(await app.inject(REQUESTS[kind]));
  return answers;
}

test.each([
  ['webhook', 503],
  ['runs', 429],
  ['slack', 429],
  ['probes', 429],
] as const)('over its rate, the %s endpoint answers %i with Retry-After and says why', async (kind, status) => {
  const app = ingress({ webhook: 3, runs: 3, slack: 3, probes: 3, [kind]: 2 });
  const answers = await statuses(app, kind, 4);
  expect(answers.map(({ statusCode }) => statusCode)).toEqual([UNDER_LIMIT[kind], UNDER_LIMIT[kind], status, status]);
  const over = answers[3]!;
  expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
  expect(over.json<{ error: string }>().error).toMatch(
    /^more than 2 requests in 60000 ms to the .* endpoints; retry in /,
  );
});

test("one kind's rate does not spend another's", async () => {
  const app = ingress({ webhook: 1, runs: 1, slack: 1, probes: 1 });
  const first = await Promise.all(
    (Object.keys(REQUESTS) as Array<keyof typeof REQUESTS>).map((kind) => app.inject(REQUESTS[kind])),
  );
  expect(first.map(({ statusCode }) => statusCode)).toEqual([400, 422, 401, 200]);
  const second = await Promise.all(
    (Object.keys(REQUESTS) as Array<keyof typeof REQUESTS>).map((kind) => app.inject(REQUESTS[kind])),
  );
  expect(second.map(({ statusCode }) => statusCode)).toEqual([503, 429, 429, 429]);
});

test('requests without credentials are refused before they count: they cannot starve Alertmanager', async () => {
  const app = ingress({ webhook: 2, runs: 2, slack: 2, probes: 2 });
  const forged = { ...REQUESTS.webhook, headers: { ...AUTH, authorization: 'Bearer not-the-token-0123456789' } };
  for (let index = 0; index < 10; index++) expect((await app.inject(forged)).statusCode).toBe(401);
  expect((await statuses(app, 'webhook', 2)).map(({ statusCode }) => statusCode)).toEqual([400, 400]);
});

test.each([
  ['webhook', REQUESTS.webhook, 'application/json'],
  ['runs', REQUESTS.runs, 'application/json'],
  ['slack', REQUESTS.slack, 'application/x-www-form-urlencoded'],
] as const)('a body over the %s limit is a 413 naming the limit', async (kind, request, type) => {
  const app = ingress({ webhook: 10, runs: 10, slack: 10, probes: 10 });
  const limit = BODY_LIMIT_BYTES[kind];
  const at = await app.inject({ ...request, payload: ' '.repeat(limit - 2) + '{}' });
  expect(at.statusCode).not.toBe(413);
  const over = await app.inject({
    ...request,
    headers: { ...request.headers, 'content-type': type },
    payload: 'x'.repeat(limit + 1),
  });
  expect(over.statusCode).toBe(413);
  expect(over.json<unknown>()).toEqual({ error: `the body is larger than ${limit} bytes` });
});
