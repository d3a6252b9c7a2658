// A CAPA for every run of a cost playbook, on a real Temporal dev server through the real ingress: opened by the run
// once admitted, told what the run did and saved when it ends, reminders to the people it was posted to and then to
// its owner (overdue once its day has passed), filled and closed over the HTTP API by the people allowed to, every
// refused attempt answered 403/409 and kept in its history, and found through its search attributes.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { listCapas } from '../../capa/capa-query';
import { main as cli } from '../../cli/finops-soar';
import { capaStatusQuery, capaWorkflowId, type CapaStatus } from '../../workflows/capa/definitions';
import { alertNotificationSignal, statusQuery } from '../../workflows/playbook-run/definitions';
import { alert, resolved } from '../helpers/alerts';
import { INGRESS_TOKEN, startIngress, TEST_OPERATOR_TOKENS } from '../helpers/ingress';
import { recordHistoryIfAsked } from '../helpers/histories';
import { COST_PLAYBOOK } from '../helpers/capa';
import { waitFor } from '../helpers/wait';
import { notification, startHarness, type Harness } from '../helpers/workflow-harness';

const CAPACITY_PLAYBOOK = COST_PLAYBOOK.replace('name: cap-context-cost', 'name: cap-context-capacity').replace(
  'family: cost',
  'family: capacity',
);
const CAPA = { families: ['cost'], notifyTo: ['finops'], remindEveryMs: 1_500 };

let harness: Harness;
let ingress: FastifyInstance;
let api: string;

beforeAll(async () => {
  harness = await startHarness();
  ({ app: ingress } = await startIngress(harness));
  api = `http://127.0.0.1:${(ingress.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await ingress?.close();
  await harness?.close();
});

async function call(method: 'GET' | 'POST', path: string, operator?: string, body?: unknown) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${INGRESS_TOKEN}`,
      ...(operator && { 'X-Operator-Token': TEST_OPERATOR_TOKENS[operator]! }),
      ...(body !== undefined && { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const capaPath = (capaId: string, verb = '') => `/v1/capas/${encodeURIComponent(capaId)}${verb}`;
const capaLines = (pattern: RegExp) => harness.notifierLog.filter((line) => pattern.test(String(line.msg)));

async function openedCapa(tenant: string, playbook = COST_PLAYBOOK) {
  const firing = alert({ route: 'chat', tenant }, { fingerprint: `fp-capa-${tenant}` });
  const run = await harness.fire(playbook, firing, { capa: CAPA });
  await waitFor('the run to mitigate', () => harness.stateOf(run, 'mitigated'));
  // Its first (and only) execution: the run has not continued as new.
  const capaId = capaWorkflowId(run.workflowId, (await run.describe()).runId);
  return { firing, run, capaId, capa: harness.env.client.workflow.getHandle(capaId) };
}

test('a cost run opens its CAPA, tells it what it did when it ends, and the CAPA reminds, is filled and is closed only by the people allowed to', async () => {
  const { firing, run, capaId, capa } = await openedCapa('acme');
  expect((await run.query(statusQuery)).capa).toEqual({ capaId });
  const opened = await capa.query(capaStatusQuery);
  expect(opened).toMatchObject({
    state: 'open',
    opening: {
      run: { workflowId: run.workflowId, playbook: 'cap-context-cost', tenant: 'acme', route: 'chat', severity: 'S2' },
      alert: { name: 'LLMInputTokensPerRequestHigh', summary: 'Input tokens per request are 3.4x the baseline' },
      notifyTo: ['finops'],
    },
    outcome: null,
    fields: {},
  });
  expect(capaLines(/^CAPA opened for /)).toHaveLength(1);

  // Reminders go to finops until someone owns it.
  await waitFor('two reminders', async () => (await capa.query(capaStatusQuery)).reminders.sent >= 2 || undefined);
  expect(capaLines(/^finops: CAPA .* is still open; missing rootCause/).length).toBeGreaterThanOrEqual(2);

  // The alert resolves: the run rolls back and the CAPA hears what it did.
  await run.signal(alertNotificationSignal, notification(resolved(firing)));
  await waitFor('the run to end', async () => (await run.query(statusQuery)).state === 'rolled-back' || undefined);
  const told = await waitFor(
    'the CAPA to hear the outcome',
    async () => (await capa.query(capaStatusQuery)).outcome ?? undefined,
  );
  expect(told).toMatchObject({
    state: 'rolled-back',
    changes: [{ stepId: 'cap-context', summary: expect.stringContaining('8192') as string }],
    escalatedTo: null,
  });
  expect(told.changes[0]!.undoneAt).not.toBeNull();

  // Visibility lists it as open, with no owner yet.
  await waitFor(
    'the open CAPA listed',
    async () => (await listCapas(harness.env.client)).some((listed) => listed.capaId === capaId) || undefined,
  );

  // An intern is no closer and not its owner: refused, and the attempt is kept.
  const refusedFill = await call('POST', capaPath(capaId, '/fill'), 'U0INTERN', { rootCause: 'I know why' });
  expect(refusedFill.status).toBe(403);
  expect(refusedFill.body.error).toMatch(/U0INTERN may not fill CAPA .*approvals\.approvers\.cap-context-cost\.S2/);

  // An approver fills the root cause and names the intern owner, due yesterday.
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const filled = await call('POST', capaPath(capaId, '/fill'), 'U0SRE', {
    rootCause: 'a prompt template change tripled the context',
    owner: 'U0INTERN',
    dueDate: yesterday,
  });
  expect(filled.status).toBe(200);
  expect((filled.body as unknown as CapaStatus).fields).toEqual({
    rootCause: 'a prompt template change tripled the context',
    owner: 'U0INTERN',
    dueDate: yesterday,
  });
  // Now its owner may fill, but not close.
  expect(
    (await call('POST', capaPath(capaId, '/fill'), 'U0INTERN', { correctiveAction: 'revert the template' })).status,
  ).toBe(200);
  const ownerClose = await call('POST', capaPath(capaId, '/close'), 'U0INTERN', { note: 'done' });
  expect(ownerClose.status).toBe(403);
  expect(ownerClose.body.error).toMatch(/U0INTERN may not close CAPA/);

  // Overdue: the reminders now name the owner and say so; the overdue list and the owner's list find it.
  await waitFor(
    'an overdue reminder to the owner',
    () => capaLines(/^U0INTERN: CAPA .* overdue since/).length > 0 || undefined,
  );
  await waitFor('the overdue CAPA listed', async () => {
    const { body } = await call('GET', '/v1/capas?overdue=true&owner=U0INTERN');
    return (
      (body.capas as Array<{ capaId: string; overdue: boolean }>).some((c) => c.capaId === capaId && c.overdue) ||
      undefined
    );
  });

  // A close with a field missing is refused by the CAPA itself.
  const early = await call('POST', capaPath(capaId, '/close'), 'U0SRE', {});
  expect(early.status).toBe(409);
  expect(early.body.error).toMatch(/fill preventiveAction before closing/);

  expect(
    (await call('POST', capaPath(capaId, '/fill'), 'U0SRE', { preventiveAction: 'review prompt templates for size' }))
      .status,
  ).toBe(200);
  const closed = await call('POST', capaPath(capaId, '/close'), 'U0SRE', { note: 'template reverted, check added' });
  expect(closed.status).toBe(200);
  expect(closed.body).toMatchObject({
    state: 'closed',
    closed: { by: 'U0SRE', note: 'template reverted, check added' },
  });
  const final = (await capa.result()) as CapaStatus;
  expect(final.history.map(({ by, what }) => `${by}: ${what}`)).toEqual([
    `finops-soar: opened for run ${run.workflowId}`,
    'finops-soar: the run ended rolled-back',
    expect.stringMatching(/^U0INTERN: refused to fill: U0INTERN may not fill/) as string,
    'U0SRE: filled rootCause, owner, dueDate (api)',
    'U0INTERN: filled correctiveAction (api)',
    expect.stringMatching(/^U0INTERN: refused to close: U0INTERN may not close/) as string,
    'U0SRE: filled preventiveAction (api)',
    'U0SRE: closed: template reverted, check added (api)',
  ]);

  // Closed: no longer open, nothing more can be done to it.
  await waitFor('the CAPA listed as closed', async () => {
    const { body } = await call('GET', '/v1/capas?state=closed');
    return (body.capas as Array<{ capaId: string }>).some((c) => c.capaId === capaId) || undefined;
  });
  expect((await listCapas(harness.env.client)).some((listed) => listed.capaId === capaId)).toBe(false);
  const again = await call('POST', capaPath(capaId, '/close'), 'U0SRE', {});
  expect(again).toEqual({ status: 409, body: { error: `CAPA ${capaId} is closed`, capaId } });
  // Its record stays readable.
  expect((await call('GET', capaPath(capaId))).body).toMatchObject({ state: 'closed', closed: { by: 'U0SRE' } });
  recordHistoryIfAsked(harness.env.address, run, 'capa-cost-run');
  recordHistoryIfAsked(harness.env.address, capa, 'capa');
});

test('bad requests are answered with what is wrong, and change nothing', async () => {
  const { capaId, capa } = await openedCapa('initech');
  expect((await call('POST', capaPath(capaId, '/fill'), 'U0SRE', { dueDate: '2026-13-01' })).status).toBe(422);
  expect((await call('POST', capaPath(capaId, '/fill'), 'U0SRE', {})).status).toBe(422);
  expect((await call('POST', capaPath(capaId, '/fill'), 'U0SRE', { rootCause: 'x', cause: 'y' })).status).toBe(422);
  const anonymous = await call('POST', capaPath(capaId, '/fill'), undefined, { rootCause: 'x' });
  expect(anonymous.status).toBe(401);
  expect((await call('POST', capaPath(capaId, '/fill'), 'U0SRE', { rootCause: 'x', by: 'U0LEAD' })).status).toBe(403);
  expect((await call('GET', capaPath('playbook/not-a-capa'))).status).toBe(400);
  expect((await call('GET', capaPath('capa/none/such'))).status).toBe(404);
  const status = await capa.query(capaStatusQuery);
  expect(status.fields).toEqual({});
  expect(status.history).toHaveLength(1);
});

test('a run of a playbook of another family opens no CAPA', async () => {
  const firing = alert({ route: 'chat', tenant: 'umbrella' }, { fingerprint: 'fp-capa-umbrella' });
  const run = await harness.fire(CAPACITY_PLAYBOOK, firing, { capa: CAPA });
  await waitFor('the run to mitigate', () => harness.stateOf(run, 'mitigated'));
  expect((await run.query(statusQuery)).capa).toBeUndefined();
});

test('the CLI lists, shows, fills and closes a CAPA through the API, as the operator of its token', async () => {
  const { capaId } = await openedCapa('hooli');
  process.env.FINOPS_SOAR_INGRESS_TOKEN = INGRESS_TOKEN;
  process.env.FINOPS_SOAR_OPERATOR_TOKEN = TEST_OPERATOR_TOKENS.U0SRE;
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void printed.push(line));
  try {
    await waitFor('the CAPA listed', async () => {
      expect(await cli(['capas', '--url', api])).toBe(0);
      const { capas } = JSON.parse(printed.pop()!) as { capas: Array<{ capaId: string }> };
      return capas.some((listed) => listed.capaId === capaId) || undefined;
    });
    expect(await cli(['capa', 'show', capaId, '--url', api])).toBe(0);
    expect(JSON.parse(printed.pop()!)).toMatchObject({ capaId, state: 'open', fields: {} });

    expect(await cli(['capa', 'fill', capaId, '--url', api])).toBe(2);
    expect(printed.pop()).toMatch(/^capa fill needs at least one of --root-cause/);
    expect(await cli(['capa', 'fill', capaId, '--due', '21/12/2026', '--url', api])).toBe(1);
    expect(printed.pop()).toMatch(/^HTTP 422: .*dueDate.*YYYY-MM-DD/);

    const fill = [
      ...['--root-cause', 'batch evals ran on the premium tier', '--corrective', 'moved them to distilled'],
      ...['--preventive', 'evals default to distilled', '--owner', 'U0SRE', '--due', '2099-03-01'],
    ];
    expect(await cli(['capa', 'fill', capaId, ...fill, '--url', api])).toBe(0);
    expect(JSON.parse(printed.pop()!)).toMatchObject({
      fields: {
        rootCause: 'batch evals ran on the premium tier',
        correctiveAction: 'moved them to distilled',
        preventiveAction: 'evals default to distilled',
        owner: 'U0SRE',
        dueDate: '2099-03-01',
      },
    });
    expect(await cli(['capa', 'close', capaId, '--note', 'evals moved', '--url', api])).toBe(0);
    expect(JSON.parse(printed.pop()!)).toMatchObject({ state: 'closed', closed: { by: 'U0SRE', note: 'evals moved' } });
    expect(await cli(['capa', 'reopen', capaId, '--url', api])).toBe(2);
  } finally {
    log.mockRestore();
    error.mockRestore();
    delete process.env.FINOPS_SOAR_INGRESS_TOKEN;
    delete process.env.FINOPS_SOAR_OPERATOR_TOKEN;
  }
});
