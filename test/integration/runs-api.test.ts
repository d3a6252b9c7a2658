// The runs API over HTTP: a war-room (or any playbook) started by hand, its status, its
// resolution and an abort, on a real Temporal dev server behind the real ingress.
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { main as cli } from '../../cli/finops-soar';
import { loadPlaybooks } from '../../playbook/playbook-load';
import { statusQuery, type RunStatus } from '../../workflows/playbook-run/definitions';
import { playbookRunId } from '../../workflows/ids';
import type { playbookRun } from '../../workflows/playbook-run/playbook-run';
import { alert, payload } from '../helpers/alerts';
import { recordHistoryIfAsked } from '../helpers/histories';
import { INGRESS_TOKEN, startIngress, TEST_OPERATOR_TOKENS, TEST_PLAYBOOKS } from '../helpers/ingress';
import { waitFor } from '../helpers/wait';
import { startHarness, type Harness } from '../helpers/workflow-harness';

const WAR_ROOM = loadPlaybooks(join(__dirname, '..', '..', 'playbooks')).filter(({ spec }) => spec.name === 'war-room');

let harness: Harness;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  harness = await startHarness();
  const ingress = await startIngress(harness, { playbooks: [...TEST_PLAYBOOKS, ...WAR_ROOM] });
  app = ingress.app;
  base = ingress.url.replace('/alerts/alertmanager', '');
});

afterAll(async () => {
  await app?.close();
  await harness?.close();
});

async function call(method: 'GET' | 'POST', path: string, body?: unknown, token = INGRESS_TOKEN) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const runPath = (workflowId: string) => `/v1/runs/${encodeURIComponent(workflowId)}`;
const warRoomStart = {
  playbook: 'war-room',
  labels: { route: 'summarize' },
  startedBy: 'U0INCIDENT',
  reason: 'p99 latency doubled after the 14:00 deploy',
};
const WAR_ROOM_RUN = playbookRunId('war-room', 'route=summarize');

test('a war-room started by hand opens once, shows its status, and ends when its starter resolves it', async () => {
  const started = await call('POST', '/v1/runs', warRoomStart);
  expect(started).toEqual({
    status: 202,
    body: { workflowId: WAR_ROOM_RUN, playbook: 'war-room', target: 'route=summarize', dryRun: false },
  });

  await waitFor('the announcement', () =>
    harness.notifierLog.some(
      (line) =>
        line.msg ===
        'notify sre, product: War-room for route summarize opened by U0INCIDENT: p99 latency doubled after the 14:00 deploy',
    ),
  );
  expect(
    harness.notifierLog.filter((line) => (line.warRoom as { name?: string } | undefined)?.name === 'inc-summarize'),
  ).toHaveLength(1);

  // Pressing start twice (or a retried request) joins the same run: one war-room, one run.
  expect((await call('POST', '/v1/runs', warRoomStart)).body.workflowId).toBe(WAR_ROOM_RUN);
  // The second start can reach the run before its last step (the announcement) is recorded: wait for both.
  const status = await waitFor('both starts in the run, and the run mitigated', async () => {
    const body = (await call('GET', runPath(WAR_ROOM_RUN))).body as unknown as RunStatus;
    return body.notifications.received === 2 && body.state === 'mitigated' ? body : undefined;
  });
  expect(status).toMatchObject({ playbook: 'war-room', target: 'route=summarize', state: 'mitigated', severity: 'S1' });
  expect(
    harness.notifierLog.filter((line) => (line.warRoom as { name?: string } | undefined)?.name === 'inc-summarize'),
  ).toHaveLength(1);

  expect(
    await call('POST', `${runPath(WAR_ROOM_RUN)}/resolve`, { by: 'U0INCIDENT', reason: 'rolled back the deploy' }),
  ).toEqual({
    status: 202,
    body: { workflowId: WAR_ROOM_RUN, resolved: 1 },
  });
  const handle = harness.env.client.workflow.getHandle<typeof playbookRun>(WAR_ROOM_RUN);
  expect(await handle.result()).toMatchObject({ state: 'rolled-back', applied: [] });
  recordHistoryIfAsked(harness.env.address, handle, 'war-room');
  expect((await call('GET', runPath(WAR_ROOM_RUN))).status).toBe(200);
});

test('any playbook can be started by hand, and an abort rolls its changes back at once', async () => {
  const started = await call('POST', '/v1/runs', {
    playbook: 'cap-context',
    labels: { route: 'chat', tenant: 'hooli' },
    startedBy: 'U0FINOPS',
    reason: 'tokens per request tripled',
  });
  expect(started.status).toBe(202);
  const workflowId = playbookRunId('cap-context', 'route=chat,tenant=hooli');
  await waitFor(
    'the context cap',
    () => harness.simulator.store.get({ route: 'chat', tenant: 'hooli' }).policy.maxInputTokens === 8192,
  );
  // Recorded by the run, not only made at the gateway: the abort's answer counts it.
  await waitFor('the change in the run', async () =>
    (await harness.env.client.workflow.getHandle(workflowId).query(statusQuery)).applied.length === 1
      ? true
      : undefined,
  );

  expect(await call('POST', `${runPath(workflowId)}/abort`, { by: 'U0FINOPS', reason: 'false alarm' })).toEqual({
    status: 200,
    body: { workflowId, outcome: 'rolling back 1 change(s)' },
  });
  const result = await harness.env.client.workflow.getHandle<typeof playbookRun>(workflowId).result();
  expect(result).toMatchObject({ state: 'rolled-back', rollbackReason: 'aborted by U0FINOPS: false alarm' });
  expect(harness.changesFor('chat', 'hooli').map((change) => change.patch)).toEqual([
    { maxInputTokens: 8192 },
    { maxInputTokens: null },
  ]);
});

test('an alert-driven run cannot be resolved by hand (it follows Alertmanager), but can be aborted', async () => {
  const firing = alert({ route: 'chat', tenant: 'pied-piper' });
  const webhook = await fetch(`${base}/alerts/alertmanager`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGRESS_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(payload([firing])),
  });
  expect(webhook.status).toBe(200);
  const workflowId = playbookRunId('cap-context', 'route=chat,tenant=pied-piper');
  await waitFor(
    'the context cap',
    () => harness.simulator.store.get({ route: 'chat', tenant: 'pied-piper' }).policy.maxInputTokens === 8192,
  );

  const resolve = await call('POST', `${runPath(workflowId)}/resolve`, { by: 'U0SRE', reason: 'looks fine' });
  expect(resolve.status).toBe(409);
  expect(resolve.body.error).toMatch(/rolls back when Alertmanager resolves its alerts; abort it to roll back now/);

  expect(
    (await call('POST', `${runPath(workflowId)}/abort`, { by: 'U0SRE', reason: 'mitigated upstream' })).status,
  ).toBe(200);
  await harness.env.client.workflow.getHandle(workflowId).result();
  const again = await call('POST', `${runPath(workflowId)}/abort`, { by: 'U0SRE', reason: 'twice' });
  expect(again.status).toBe(404);
});

test('the CLI starts, shows, resolves and aborts runs through the same API', async () => {
  process.env.FINOPS_SOAR_INGRESS_TOKEN = INGRESS_TOKEN;
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void printed.push(line));
  try {
    const workflowId = playbookRunId('war-room', 'route=code-assist');
    expect(
      await cli([
        'start',
        'war-room',
        '--label',
        'route=code-assist',
        '--by',
        'U0SRE',
        '--reason',
        'GPU queue at 3x',
        '--url',
        base,
      ]),
    ).toBe(0);
    expect(JSON.parse(printed.pop()!)).toMatchObject({ workflowId, target: 'route=code-assist' });

    await waitFor('the announcement', () =>
      harness.notifierLog.some(
        (line) => line.msg === 'notify sre, product: War-room for route code-assist opened by U0SRE: GPU queue at 3x',
      ),
    );
    await waitFor('the run to be mitigated', () =>
      harness.stateOf(harness.env.client.workflow.getHandle(workflowId), 'mitigated'),
    );
    expect(await cli(['status', workflowId, '--url', base])).toBe(0);
    expect(JSON.parse(printed.pop()!)).toMatchObject({ playbook: 'war-room', state: 'mitigated' });

    expect(await cli(['resolve', workflowId, '--by', 'U0SRE', '--reason', 'queue drained', '--url', base])).toBe(0);
    await harness.env.client.workflow.getHandle(workflowId).result();

    expect(await cli(['abort', workflowId, '--by', 'U0SRE', '--reason', 'late', '--url', base])).toBe(1);
    expect(printed.pop()).toMatch(/^HTTP 404: .*no open run playbook\/war-room\/route=code-assist/);
    expect(
      await cli(['start', 'war-room', '--label', 'route', '--by', 'U0SRE', '--reason', 'r', '--url', base]).catch(
        (e: Error) => e.message,
      ),
    ).toBe('--label route: write NAME=VALUE, e.g. --label route=chat');
    expect(await cli(['start', 'war-room', '--label', 'route=chat', '--url', base])).toBe(2);
  } finally {
    log.mockRestore();
    error.mockRestore();
    delete process.env.FINOPS_SOAR_INGRESS_TOKEN;
  }
});

describe('decisions over the API: only authorised approvers, two different people for an S1 throttle, every refusal recorded', () => {
  const TIER_RUN = playbookRunId('tier-review', 'route=chat,tenant=umbrella');
  /** A decision sent with `operator`'s own token (and `by`, when given, as the claimed identity). */
  const decideAs = (
    operator: string | undefined,
    { by, idempotencyKey }: { by?: string; idempotencyKey?: string } = {},
  ) =>
    fetch(`${base}${runPath(TIER_RUN)}/decide`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${INGRESS_TOKEN}`,
        'Content-Type': 'application/json',
        ...(operator && { 'X-Operator-Token': TEST_OPERATOR_TOKENS[operator]! }),
        ...(idempotencyKey && { 'Idempotency-Key': idempotencyKey }),
      },
      body: JSON.stringify({ stepId: 'approve-throttle', approve: true, ...(by && { by }) }),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
    }));

  test('refusals, a deduplicated double click, and the second approver through the CLI', async () => {
    const started = await call('POST', '/v1/runs', {
      playbook: 'tier-review',
      labels: { route: 'chat', tenant: 'umbrella' },
      startedBy: 'U0SRE',
      reason: 'umbrella at 9x its usual spend',
    });
    expect(started.status).toBe(202);
    await waitFor('the approval request', () =>
      harness.stateOf(harness.env.client.workflow.getHandle(TIER_RUN), 'awaiting-approval'),
    );

    // Who decides is the owner of the operator token, not whatever the body claims.
    expect(await decideAs(undefined, { by: 'U0PRODUCT' })).toEqual({
      status: 401,
      body: {
        error:
          'a decision needs your own operator token in X-Operator-Token (approvals.operatorTokens): the ingress token does not say who you are',
      },
    });
    expect(await decideAs('U0INTERN', { by: 'U0PRODUCT' })).toEqual({
      status: 403,
      body: { error: "this operator token is U0INTERN's, not U0PRODUCT's" },
    });
    expect(await decideAs('U0INTERN')).toEqual({
      status: 403,
      body: {
        error:
          'U0INTERN may not approve S1 steps of tier-review; approvers: U0SRE, U0PRODUCT, U0LEAD, sre-leads (groups sre-leads cannot be checked without Slack)',
      },
    });
    expect(await decideAs('U0SRE')).toEqual({
      status: 409,
      body: { error: 'U0SRE started this run and cannot approve its steps; ask someone else' },
    });

    // The same click delivered twice (same Idempotency-Key) is one decision.
    const [first, again] = await Promise.all([
      decideAs('U0PRODUCT', { idempotencyKey: 'click-1' }),
      decideAs('U0PRODUCT', { idempotencyKey: 'click-1' }),
    ]);
    expect(first).toMatchObject({
      status: 200,
      body: { approvalsStillNeeded: 1, decision: { by: 'U0PRODUCT', approve: true, via: 'api' } },
    });
    expect(again).toEqual(first);
    expect(await decideAs('U0PRODUCT')).toEqual({
      status: 409,
      body: { error: 'U0PRODUCT already approved step approve-throttle; it needs 2 different people' },
    });
    expect(harness.simulator.store.get({ route: 'chat', tenant: 'umbrella' }).policy.rateLimitRps).toBeUndefined();

    process.env.FINOPS_SOAR_INGRESS_TOKEN = INGRESS_TOKEN;
    process.env.FINOPS_SOAR_OPERATOR_TOKEN = TEST_OPERATOR_TOKENS.U0LEAD;
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await cli(['approve', TIER_RUN, 'approve-throttle', '--reason', 'budget at risk', '--url', base])).toBe(0);
    } finally {
      log.mockRestore();
      delete process.env.FINOPS_SOAR_INGRESS_TOKEN;
      delete process.env.FINOPS_SOAR_OPERATOR_TOKEN;
    }
    await waitFor(
      'the throttle',
      () => harness.simulator.store.get({ route: 'chat', tenant: 'umbrella' }).policy.rateLimitRps === 5 || undefined,
    );

    const status = (await call('GET', runPath(TIER_RUN))).body as unknown as RunStatus;
    expect(status.decisions.map(({ by, approve, via }) => [by, approve, via])).toEqual([
      ['U0PRODUCT', true, 'api'],
      ['U0LEAD', true, 'api'],
    ]);
    expect(status.refusedDecisions.map(({ by, refusal }) => [by, refusal])).toEqual([
      ['U0INTERN', expect.stringMatching(/^U0INTERN may not approve S1 steps of tier-review/)],
      ['U0SRE', 'U0SRE started this run and cannot approve its steps; ask someone else'],
      ['U0PRODUCT', 'U0PRODUCT already approved step approve-throttle; it needs 2 different people'],
    ]);
    expect((await call('POST', `${runPath(TIER_RUN)}/abort`, { by: 'U0SRE', reason: 'test done' })).status).toBe(200);
    await harness.env.client.workflow.getHandle(TIER_RUN).result();
    expect(await decideAs('U0LEAD')).toMatchObject({ status: 404 });
  });
});

describe('bad requests are refused and start nothing', () => {
  const noRunFor = async (workflowId: string) =>
    expect(harness.env.client.workflow.getHandle(workflowId).describe()).rejects.toThrow(WorkflowNotFoundError);

  test.each([
    [
      'an unknown playbook',
      { ...warRoomStart, playbook: 'nope', labels: { route: 'embeddings' } },
      404,
      /no playbook named nope; known: cap-context, tier-review, war-room/,
    ],
    ['no startedBy', { playbook: 'war-room', labels: { route: 'embeddings' }, reason: 'x' }, 422, /startedBy/],
    ['an unknown field', { ...warRoomStart, labels: { route: 'embeddings' }, priority: 1 }, 422, /priority/],
  ])('%s', async (_name, body, status, message) => {
    const response = await call('POST', '/v1/runs', body);
    expect(response.status).toBe(status);
    expect(JSON.stringify(response.body)).toMatch(message);
    await noRunFor(playbookRunId('war-room', 'route=embeddings'));
    await noRunFor(playbookRunId('nope', 'route=embeddings'));
  });

  test('a target label missing: no target, so nothing to name a run after', async () => {
    const response = await call('POST', '/v1/runs', { ...warRoomStart, labels: { tenant: 'acme' } });
    expect(response).toEqual({
      status: 422,
      body: { error: 'playbook war-room cannot run: a route target needs the label(s) route' },
    });
  });

  test('without the token', async () => {
    expect(
      (await call('POST', '/v1/runs', { ...warRoomStart, labels: { route: 'embeddings' } }, 'wrong-token-0123456789'))
        .status,
    ).toBe(401);
    await expect(
      harness.env.client.workflow.getHandle(playbookRunId('war-room', 'route=embeddings')).describe(),
    ).rejects.toThrow(WorkflowNotFoundError);
  });

  test('status, resolve and abort of a run that does not exist', async () => {
    const missing = runPath('playbook/war-room/route=nowhere');
    expect((await call('GET', missing)).status).toBe(404);
    expect((await call('POST', `${missing}/resolve`, { by: 'U1', reason: 'r' })).status).toBe(404);
    expect((await call('POST', `${missing}/abort`, { by: 'U1', reason: 'r' })).status).toBe(404);
    expect((await call('POST', `${missing}/abort`, { by: 'U1' })).status).toBe(422);
  });
});
