// The whole path over HTTP: Alertmanager webhook → ingress → Temporal → worker → gateway simulator,
// with the test playbook (cap-context), on a real Temporal dev server.
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert } from '../../alerts/alertmanager';
import type { IngressOptions } from '../../ingress/app';
import { statusQuery } from '../../workflows/playbook-run/definitions';
import { playbookRunId } from '../../workflows/ids';
import type { playbookRun } from '../../workflows/playbook-run/playbook-run';
import { alert, payload, resolved } from '../helpers/alerts';
import { INGRESS_TOKEN as TOKEN, startIngress as startIngressFor } from '../helpers/ingress';
import { waitFor } from '../helpers/wait';
import { startHarness, type Harness } from '../helpers/workflow-harness';

let harness: Harness;
let webhook: string;
const apps: FastifyInstance[] = [];

async function startIngress(overrides: Partial<IngressOptions> = {}): Promise<string> {
  const { app, url } = await startIngressFor(harness, overrides);
  apps.push(app);
  return url;
}

beforeAll(async () => {
  harness = await startHarness();
  webhook = await startIngress();
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await harness?.close();
});

function post(url: string, body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }) {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const costAlert = (tenant: string) => alert({ route: 'chat', tenant, model: 'llama-3-70b' });
const runIdFor = (tenant: string) => playbookRunId('cap-context', `route=chat,tenant=${tenant}`);
const tenantPolicy = (tenant: string) => harness.simulator.store.get({ route: 'chat', tenant }).policy;
const changesFor = (tenant: string) => harness.simulator.store.changes.filter((c) => c.tenant === tenant);

async function expectNoRun(workflowId: string) {
  await expect(harness.env.client.workflow.getHandle(workflowId).describe()).rejects.toThrow(WorkflowNotFoundError);
}

test('firing → the gateway is changed; resolved → after the cooldown the change is rolled back', async () => {
  const firing = costAlert('acme');
  const response = await post(webhook, payload([firing]));
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({
    status: 'accepted',
    outcomes: [
      {
        outcome: 'started-or-signalled',
        fingerprint: firing.fingerprint,
        playbook: 'cap-context',
        workflowId: runIdFor('acme'),
      },
    ],
  });

  await waitFor('the context cap at the gateway', () => tenantPolicy('acme').maxInputTokens === 8192);

  const resolution = await post(webhook, payload([resolved(firing)]));
  expect(resolution.status).toBe(200);
  expect(((await resolution.json()) as { outcomes: Array<{ outcome: string }> }).outcomes[0]?.outcome).toBe(
    'resolution-signalled',
  );

  const handle = harness.env.client.workflow.getHandle<typeof playbookRun>(runIdFor('acme'));
  expect((await handle.result()).state).toBe('rolled-back');
  expect(tenantPolicy('acme')).toEqual({});
  expect(changesFor('acme').map((c) => c.patch)).toEqual([{ maxInputTokens: 8192 }, { maxInputTokens: null }]);
});

test('the same notification delivered 20 times at once starts one run and changes the gateway once', async () => {
  const firing = costAlert('globex');
  const responses = await Promise.all(Array.from({ length: 20 }, () => post(webhook, payload([firing]))));
  expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
  // Those that arrived once Temporal had accepted the first are absorbed without a call (ingress.repeatWindow).
  const outcomes = await Promise.all(
    responses.map(async (r) => ((await r.json()) as { outcomes: Array<{ outcome: string }> }).outcomes[0]!.outcome),
  );
  const signalled = outcomes.filter((o) => o === 'started-or-signalled').length;
  expect(signalled + outcomes.filter((o) => o === 'repeat-absorbed').length).toBe(20);

  const handle = harness.env.client.workflow.getHandle<typeof playbookRun>(runIdFor('globex'));
  // Every signal reached the same run: a second run would have taken some of them.
  const status = await waitFor('all notifications', async () => {
    const current = await handle.query(statusQuery);
    return current.notifications.received === signalled && current.state === 'mitigated' ? current : undefined;
  });
  expect(status.applied).toHaveLength(1);
  expect(changesFor('globex')).toHaveLength(1);
  const runs = await harness.env.client.workflow.count(`WorkflowId = "${runIdFor('globex')}"`);
  expect(runs.count).toBe(1);

  await post(webhook, payload([resolved(firing)]));
  expect((await handle.result()).state).toBe('rolled-back');
});

describe('bad requests start nothing', () => {
  const firing = costAlert('umbrella');

  test.each([
    ['no Authorization header', {}],
    ['a wrong bearer token', { Authorization: 'Bearer not-the-token-at-all' }],
    ['the token under another scheme', { Authorization: `Token ${TOKEN}` }],
    [
      'basic auth when only a token is configured',
      { Authorization: `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}` },
    ],
  ])('%s → 401', async (_case, headers) => {
    const response = await post(webhook, payload([firing]), headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    await expectNoRun(runIdFor('umbrella'));
  });

  const broken = (mutate: (body: Record<string, unknown>) => void) => {
    const body = JSON.parse(JSON.stringify(payload([firing]))) as Record<string, unknown>;
    mutate(body);
    return body;
  };
  const firstAlert = (body: Record<string, unknown>) => (body.alerts as Array<Record<string, unknown>>)[0]!;

  test.each([
    ['not JSON', '{"version": "4", alerts: [', /not valid JSON/],
    ['an empty body', '', /body is empty/],
    ['version 3', broken((b) => (b.version = '3')), /^version: Invalid input: expected "4"/],
    ['no alerts', broken((b) => (b.alerts = [])), /^alerts: .*Expected: at least one alert/],
    [
      'a label that is not a string',
      broken((b) => (firstAlert(b).labels = { route: 7 })),
      /^alerts\[0\]\.labels\.route: Invalid input: expected string/,
    ],
    [
      'a startsAt that is not a timestamp',
      broken((b) => (firstAlert(b).startsAt = 'yesterday')),
      /^alerts\[0\]\.startsAt: Invalid ISO datetime/,
    ],
    [
      'an unknown status',
      broken((b) => (firstAlert(b).status = 'pending')),
      /^alerts\[0\]\.status: .*"firing" or "resolved"/,
    ],
  ])('%s → 400 saying what is wrong', async (_case, body, problem) => {
    const response = await post(webhook, body);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: string; problems?: string[] };
    expect(answer.problems?.[0] ?? answer.error).toMatch(problem);
    await expectNoRun(runIdFor('umbrella'));
  });

  test('a body that is not JSON at all → 415', async () => {
    const response = await fetch(webhook, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'text/plain' },
      body: 'hello',
    });
    expect(response.status).toBe(415);
    await expectNoRun(runIdFor('umbrella'));
  });

  afterAll(() => expect(changesFor('umbrella')).toHaveLength(0));
});

describe('alerts that start no run', () => {
  test('an alert no playbook matches is acknowledged as unrouted', async () => {
    const other = alert(
      { route: 'chat', tenant: 'acme' },
      { labels: { alertname: 'SomethingElse', route: 'chat', tenant: 'acme' } },
    );
    const response = await post(webhook, payload([other]));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'accepted',
      outcomes: [{ outcome: 'unrouted', fingerprint: other.fingerprint }],
    });
  });

  test('an alert missing the labels its target needs is reported as rejected', async () => {
    const noRoute: Alert = alert(
      {},
      {
        labels: { alertname: 'LLMInputTokensPerRequestHigh', severity: 'S2', tenant: 'acme' },
        fingerprint: 'no-route',
      },
    );
    const response = await post(webhook, payload([noRoute]));
    expect(response.status).toBe(200);
    expect(((await response.json()) as { outcomes: unknown[] }).outcomes).toEqual([
      {
        outcome: 'rejected',
        fingerprint: 'no-route',
        playbook: 'cap-context',
        reason: 'a route target needs the label(s) route',
      },
    ]);
    // Answered 200 (a retry cannot help), so the count on /metrics, read without credentials, is how anyone learns.
    const metrics = await fetch(webhook.replace('/alerts/alertmanager', '/metrics'));
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^finops_soar_alerts_total\{outcome="rejected",playbook="cap-context"\} 1$/m);
  });

  test('a resolution for a target with no run starts nothing', async () => {
    const response = await post(webhook, payload([resolved(costAlert('stark'))]));
    expect(response.status).toBe(200);
    expect(((await response.json()) as { outcomes: Array<{ outcome: string }> }).outcomes[0]?.outcome).toBe(
      'no-active-run',
    );
    await expectNoRun(runIdFor('stark'));
  });
});

describe('a truncated notification (max_alerts)', () => {
  // Stands in for any address a notification could name: it must never be called.
  let named: Server;
  let namedUrl: string;
  const namedRequests: string[] = [];

  beforeAll(async () => {
    named = createServer((request, response) => {
      namedRequests.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('[]');
    });
    await new Promise<void>((resolve) => named.listen(0, '127.0.0.1', resolve));
    namedUrl = `http://127.0.0.1:${(named.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => named.close(() => resolve())));

  test("with no Alertmanager configured: the carried alerts run, the payload's externalURL is never fetched, and the answer says so", async () => {
    const firing = costAlert('tyrell');
    const truncated = { ...payload([firing]), truncatedAlerts: 2, externalURL: namedUrl };
    const response = await post(webhook, truncated);
    // A retry would bring no more: Alertmanager is not asked to send it again.
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { warning: string; outcomes: Array<{ outcome: string }> };
    expect(answer.warning).toBe(
      `the notification left out 2 alert(s) (max_alerts) and no Alertmanager is configured to read them from (the payload's externalURL ${namedUrl} is not fetched); set ingress.alertmanagerUrl, or raise max_alerts`,
    );
    expect(answer.outcomes.map((o) => o.outcome)).toEqual(['started-or-signalled']);
    await waitFor('the carried alert to be handled', () => tenantPolicy('tyrell').maxInputTokens === 8192);
    expect(namedRequests).toEqual([]);
  });

  test('read only from the configured peers, the first that answers; none answering: the carried alerts run and Alertmanager is told to retry', async () => {
    // Port 1: nothing listens there, as with a peer that is down.
    const peers = await startIngress({ alertmanagerUrls: ['http://127.0.0.1:1', 'http://127.0.0.1:1/'] });
    const firing = costAlert('cyberdyne');
    const truncated = { ...payload([firing]), truncatedAlerts: 2, externalURL: namedUrl };
    const response = await post(peers, truncated);
    expect(response.status).toBe(503);
    const answer = (await response.json()) as { error: string; outcomes: Array<{ outcome: string }> };
    expect(answer.error).toMatch(
      /^the notification left out 2 alert\(s\) \(max_alerts\) and Alertmanager's API could not be read \(http:\/\/127\.0\.0\.1:1: .+; http:\/\/127\.0\.0\.1:1\/: .+\)/,
    );
    expect(answer.outcomes.map((o) => o.outcome)).toEqual(['started-or-signalled']);
    await waitFor('the carried alert to be handled', () => tenantPolicy('cyberdyne').maxInputTokens === 8192);
    expect(namedRequests).toEqual([]);
  });
});

describe('when Temporal cannot take the work, Alertmanager is told to retry', () => {
  let unreachable: Connection;
  let url: string;

  beforeAll(async () => {
    // Nothing listens on port 1: every call fails as it would with Temporal down.
    unreachable = Connection.lazy({ address: '127.0.0.1:1' });
    url = await startIngress({
      client: new Client({ connection: unreachable }),
      temporalTimeoutMs: 1_500,
      maxInFlight: 1,
    });
  });
  afterAll(() => unreachable.close());

  test('Temporal unreachable → 503 with Retry-After, and nothing changed', async () => {
    const response = await post(url, payload([costAlert('wayne')]));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('10');
    expect(((await response.json()) as { outcomes: Array<{ outcome: string }> }).outcomes[0]?.outcome).toBe('failed');
    expect(changesFor('wayne')).toHaveLength(0);
  });

  test('more requests in progress than maxInFlight → 503 overloaded', async () => {
    const first = post(url, payload([costAlert('wayne')]));
    // The first request holds the only slot until its Temporal deadline passes.
    const second = await waitFor('the overload answer', async () => {
      const answer = await post(url, payload([costAlert('wayne')]));
      return answer.status === 503 && ((await answer.json()) as { error: string }).error.startsWith('overloaded')
        ? answer
        : undefined;
    });
    expect(second.headers.get('retry-after')).toBe('5');
    expect((await first).status).toBe(503);
  });
});
