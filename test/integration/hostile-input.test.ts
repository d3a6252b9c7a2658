// Hostile input (issue 13): property-based tests (fast-check) of the real ingress (buildIngressApp, driven with
// app.inject) in front of a real Temporal dev server (the workflow harness). Whatever arrives — malformed or
// deeply nested JSON, wrong types, empty or oversized bodies, duplicate keys, control and unicode characters and
// very long strings in labels, missing or wrong credentials, forged, expired or replayed Slack signatures, an
// operator's token used for another operator — the ingress never answers 5xx, answers invalid input with a clear
// 4xx, starts no run from it (every Temporal call the ingress makes is counted by a client interceptor, and the
// workflows the server holds are listed at the end), and accepts no decision but the token owner's or a genuine,
// fresh, first delivery of a signed Slack click. Valid alerts with hostile label values get workflow ids within
// Temporal's limits, and two targets never share one. The case counts are in each property's numRuns.

import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import type { FastifyInstance, InjectOptions } from 'fastify';
import fc from 'fast-check';
import type { Alert } from '../../alerts/alertmanager';
import { buildIngressApp, type IngressOptions } from '../../ingress/app';
import { MAX_WORKFLOW_ID_BYTES } from '../../ingress/run-dispatch';
import { BODY_LIMIT_BYTES } from '../../ingress/request-limits';
import { ENGINE_LIMITS_WORKFLOW_ID } from '../../workflows/engine-limits';
import { LIMITS_WORKFLOW_PREFIX } from '../../workflows/limits/protocol';
import { statusQuery, type RunStatus } from '../../workflows/playbook-run/definitions';
import { playbookRunId } from '../../workflows/ids';
import { keywordValue, MAX_KEYWORD_BYTES, SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { alert, payload } from '../helpers/alerts';
import { INGRESS_TOKEN, TEST_OPERATOR_TOKENS, TEST_PLAYBOOKS, testIngressOptions } from '../helpers/ingress';
import {
  blockActionsPayload,
  interactivityFormBody,
  SLACK_SIGNING_SECRET,
  slackSignature,
  startSlackApiServer,
  type SlackApiServer,
} from '../helpers/slack-api-server';
import { waitFor } from '../helpers/wait';
import { startHarness, TASK_QUEUE, type Harness } from '../helpers/workflow-harness';

/** No worker polls it: runs started there stay unstarted, so thousands of them cost the server little. */
const PARKED_QUEUE = 'hostile-input-parked';

/** Every call the ingress makes to Temporal, by kind and workflow id, and the ones still in progress. */
class TemporalCalls {
  readonly calls: Array<{ kind: string; workflowId: string }> = [];
  private readonly inProgress = new Set<Promise<unknown>>();

  private record<T>(kind: string, workflowId: string, call: () => Promise<T>): Promise<T> {
    this.calls.push({ kind, workflowId });
    const promise = call();
    const tracked = promise.then(
      () => undefined,
      () => undefined,
    );
    this.inProgress.add(tracked);
    void tracked.then(() => this.inProgress.delete(tracked));
    return promise;
  }

  readonly interceptor: WorkflowClientInterceptor = {
    startWithDetails: (input, next) => this.record('start', input.options.workflowId, () => next(input)),
    signalWithStart: (input, next) => this.record('signalWithStart', input.options.workflowId, () => next(input)),
    signal: (input, next) => this.record('signal', input.workflowExecution.workflowId, () => next(input)),
    startUpdate: (input, next) => this.record('update', input.workflowExecution.workflowId, () => next(input)),
    query: (input, next) => this.record('query', input.workflowExecution.workflowId, () => next(input)),
    terminate: (input, next) => this.record('terminate', input.workflowExecution.workflowId, () => next(input)),
    cancel: (input, next) => this.record('cancel', input.workflowExecution.workflowId, () => next(input)),
    describe: (input, next) => this.record('describe', input.workflowExecution.workflowId, () => next(input)),
  };

  /** Resolves once every call made so far has been answered. */
  async settled(): Promise<true> {
    while (this.inProgress.size > 0) await Promise.all(this.inProgress);
    return true;
  }
}

let harness: Harness;
let slackServer: SlackApiServer;
const temporal = new TemporalCalls();
/** Alerts and manual starts: its runs are parked. */
let parked: FastifyInstance;
/** Decisions, aborts and Slack clicks, on runs a worker executes. */
let live: FastifyInstance;
/** A tier-review run waiting for its S1 approval, which no property may decide, abort or resolve. */
let pendingRun: string;
/** Workflow ids the properties legitimately started: the server must hold no other. */
const started = new Set<string>();

function ingress(taskQueue: string, overrides: Partial<IngressOptions> = {}): FastifyInstance {
  const client = new Client({
    connection: harness.env.connection,
    namespace: harness.env.namespace ?? 'default',
    interceptors: { workflow: [temporal.interceptor] },
  });
  return buildIngressApp(
    testIngressOptions(client, {
      taskQueue,
      // Generous: these properties are about what the ingress answers to its input. With the default deadline a
      // dev server slowed by the suites beside it made a valid start a 503 (right for Alertmanager, wrong here).
      temporalTimeoutMs: 60_000,
      slackSigningSecret: SLACK_SIGNING_SECRET,
      ...overrides,
    }),
  );
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

async function send(app: FastifyInstance, options: InjectOptions): Promise<Answer> {
  const response = await app.inject(options);
  let body: Record<string, unknown>;
  try {
    body = response.body === '' ? {} : (JSON.parse(response.body) as Record<string, unknown>);
  } catch {
    body = { text: response.body };
  }
  return { status: response.statusCode, body, headers: response.headers };
}

const AUTH = { authorization: `Bearer ${INGRESS_TOKEN}` };
const JSON_TYPE = { 'content-type': 'application/json' };
const runPath = (workflowId: string, action = '') => `/v1/runs/${encodeURIComponent(workflowId)}${action}`;
const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');
/** Lengths as zod counts them. */
const codePoints = (text: string) => [...text].length;
const isWellFormed = (text: string) => !/\p{Cs}/u.test(text);

/** A clear refusal: the expected 4xx, with an error that says something. */
function expectRefused(answer: Answer, status: number | number[]) {
  expect([status].flat()).toContain(answer.status);
  const error = answer.body.error ?? answer.body.message;
  expect(typeof error).toBe('string');
  expect((error as string).length).toBeGreaterThan(0);
}

/**
 * Whether a parsed body carries a key the JSON parser refuses outright (400, before any schema): `__proto__`, or a
 * `constructor` holding a `prototype` (fastify's onProtoPoisoning and onConstructorPoisoning, both `error` by default;
 * the check is secure-json-parse's). fast-check's strings include `__proto__` on purpose, so generated keys meet it.
 */
function poisonsPrototypes(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const own = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key);
  if (own(value, '__proto__')) return true;
  const constructor = own(value, 'constructor') ? (value as { constructor: unknown }).constructor : undefined;
  if (constructor !== null && typeof constructor === 'object' && own(constructor, 'prototype')) return true;
  return Object.values(value).some(poisonsPrototypes);
}

/** Runs `act` and asserts it made no call to Temporal at all. */
async function withoutTemporal<T>(act: () => Promise<T>): Promise<T> {
  const before = temporal.calls.length;
  const result = await act();
  expect(temporal.calls.slice(before)).toEqual([]);
  return result;
}

beforeAll(async () => {
  harness = await startHarness();
  slackServer = await startSlackApiServer();
  parked = ingress(PARKED_QUEUE);
  live = ingress(TASK_QUEUE);
  const start = await send(live, {
    method: 'POST',
    url: '/v1/runs',
    headers: { ...AUTH, ...JSON_TYPE },
    payload: {
      playbook: 'tier-review',
      labels: { route: 'chat', tenant: 'pending' },
      startedBy: 'U0INCIDENT',
      reason: 'r',
    },
  });
  expect(start.status).toBe(202);
  pendingRun = start.body.workflowId as string;
  started.add(pendingRun);
  await waitFor('the pending approval', async () => (await runStatus(pendingRun)).pendingApproval !== null);
});

afterAll(async () => {
  await parked?.close();
  await live?.close();
  await slackServer?.close();
  await harness?.close();
});

const runStatus = (workflowId: string): Promise<RunStatus> =>
  harness.env.client.workflow.getHandle(workflowId).query(statusQuery);

// ---------------------------------------------------------------------------------------------------------------
// Generators

/** Characters that break naive ids, keys, headers, logs and templates. */
const SPECIALS = [
  '/',
  ',',
  '=',
  '%',
  '%2C',
  '%3D',
  '\n',
  '\r\n',
  '\t',
  '\u0000',
  '\u0007',
  '\u001b[31m',
  '\u007f',
  '\u2028',
  '\u202e',
  '\ufeff',
  '\uffff',
  '😀',
  '👩‍👩‍👧',
  'é',
  'e\u0301',
  '中',
  '..',
  '\\',
  '"',
  "'",
  ' ',
  '{{ labels.route }}',
  '<@U0SRE>',
  '*',
  '?',
  '#',
  '&',
  '+',
];
const piece = fc.oneof(
  fc.constantFrom(...SPECIALS),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);
/** Well-formed (no lone surrogates) but hostile: separators, controls, unicode, and very long runs of them. */
const hostileText = fc.oneof(
  { weight: 5, arbitrary: fc.array(piece, { maxLength: 8 }).map((pieces) => pieces.join('')) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', '😀', '中', '/', ',', '%', '='), fc.integer({ min: 100, max: 1_200 }), piece)
      .map(([char, times, tail]) => char.repeat(times) + tail),
  },
);
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
/** A string with one lone surrogate somewhere: no Alertmanager (a Go program, valid UTF-8 only) sends one. */
const illFormedText = fc
  .tuple(hostileText, loneSurrogate, hostileText)
  .map(([before, surrogate, after]) => before + surrogate + after);

const labelName = fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/), hostileText);

// ---------------------------------------------------------------------------------------------------------------
// POST /alerts/alertmanager

const postAlerts = (app: FastifyInstance, body: string | object, headers: Record<string, string> = {}) =>
  send(app, {
    method: 'POST',
    url: '/alerts/alertmanager',
    headers: { ...AUTH, ...JSON_TYPE, ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

const validText = () => JSON.stringify(payload([alert({ route: 'chat', tenant: 'hostile' })]));

/** Nested `depth` deep, as arrays or objects. */
const nested = (depth: number, kind: 'array' | 'object', inner: string) =>
  kind === 'array' ? '['.repeat(depth) + inner + ']'.repeat(depth) : '{"a":'.repeat(depth) + inner + '}'.repeat(depth);

const PAYLOAD_FIELDS = ['version', 'groupKey', 'status', 'receiver', 'groupLabels', 'alerts', 'externalURL'];
const ALERT_FIELDS = ['status', 'labels', 'annotations', 'startsAt', 'endsAt', 'fingerprint', 'generatorURL'];

/** Bodies that are not JSON, or JSON that is no webhook payload. */
const malformedBody = fc.oneof(
  // Text that JSON.parse refuses.
  fc.string({ unit: 'binary', maxLength: 200 }).filter((text) => {
    try {
      JSON.parse(text);
      return text.trim() === '';
    } catch {
      return true;
    }
  }),
  // A valid payload cut short.
  fc.integer({ min: 0, max: validText().length - 1 }).map((end) => validText().slice(0, end)),
  // A valid payload with a byte changed into a structural character.
  fc
    .tuple(fc.nat({ max: validText().length - 1 }), fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '\u0000'))
    .map(([at, char]) => validText().slice(0, at) + char + validText().slice(at + 1))
    .filter((text) => {
      try {
        JSON.parse(text);
        return false;
      } catch {
        return true;
      }
    }),
  // Any JSON value at all in place of the payload (a webhook payload has ten fields; these do not).
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  // Deep nesting, at the top or in a field.
  fc
    .tuple(
      fc.integer({ min: 1, max: 50_000 }),
      fc.constantFrom<'array' | 'object'>('array', 'object'),
      fc.constantFrom('top', 'alerts', 'labels', 'version'),
    )
    .map(([depth, kind, where]) => {
      const deep = nested(depth, kind, '1');
      if (where === 'top') return deep;
      const body = JSON.parse(validText()) as Record<string, unknown>;
      const alerts = body.alerts as Array<Record<string, unknown>>;
      if (where === 'alerts') return JSON.stringify({ ...body, alerts: '@' }).replace('"@"', deep);
      if (where === 'labels') alerts[0]!.labels = '@';
      else body.version = '@';
      return JSON.stringify(body).replace('"@"', deep);
    }),
  // Keys that would pollute prototypes, anywhere.
  fc.tuple(fc.constantFrom('__proto__', 'constructor'), fc.constantFrom('top', 'labels')).map(([key, where]) => {
    const poison = key === '__proto__' ? '{"polluted":"yes"}' : '{"prototype":{"polluted":"yes"}}';
    const text = validText();
    return where === 'top'
      ? `{"${key}":${poison},${text.slice(1)}`
      : text.replace('"labels":{', `"labels":{"${key}":${poison},`);
  }),
  // Nothing but whitespace.
  fc.constantFrom('', ' ', '\n', '\t\r\n '),
);

/** A valid payload with one field set to a value of the wrong type; `field` is where the 400 must point. */
const wrongTypedPayload = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...PAYLOAD_FIELDS).map((field) => ({ field, inAlert: false })),
      fc.constantFrom(...ALERT_FIELDS).map((field) => ({ field, inAlert: true })),
    ),
    fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
      fc.dictionary(labelName, fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string())), {
        minKeys: 1,
        maxKeys: 3,
      }),
      hostileText,
    ),
  )
  .filter(([{ field, inAlert }, value]) => {
    // A key poisoning prototypes makes the whole body a 400 before any field is read: the first property's case.
    if (/"(__proto__|constructor)":/.test(JSON.stringify(value ?? null))) return false;
    // Only values that are wrong for the field: strings are right for the free-text fields and `{}` for label sets.
    const isString = typeof value === 'string';
    const freeText = ['groupKey', 'receiver', 'externalURL', 'fingerprint', 'generatorURL'];
    if (isString && freeText.includes(field)) return field === 'fingerprint' && value === '';
    if (field === 'version') return value !== '4';
    if (field === 'status') return value !== 'firing' && value !== 'resolved';
    if (inAlert && (field === 'annotations' || field === 'generatorURL') && value === undefined) return false;
    if (isString && (field === 'startsAt' || field === 'endsAt'))
      return !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value);
    return true;
  })
  .map(([{ field, inAlert }, value]) => {
    const body = payload([alert({ route: 'chat', tenant: 'hostile' })]) as unknown as Record<string, unknown>;
    const target = inAlert ? (body.alerts as Array<Record<string, unknown>>)[0]! : body;
    if (value === undefined) delete target[field];
    else target[field] = value;
    return { body, where: inAlert ? `alerts[0].${field}` : field };
  });

describe('POST /alerts/alertmanager', () => {
  test('malformed JSON, deep nesting, poisoned keys and empty bodies: 400, and nothing reaches Temporal', async () => {
    await fc.assert(
      fc.asyncProperty(malformedBody, async (body) => {
        const answer = await withoutTemporal(() => postAlerts(parked, body));
        expectRefused(answer, 400);
      }),
      { numRuns: 1_500 },
    );
  });

  test('a field of the wrong type, or missing: 400 naming the field, and nothing reaches Temporal', async () => {
    await fc.assert(
      fc.asyncProperty(wrongTypedPayload, async ({ body, where }) => {
        const answer = await withoutTemporal(() => postAlerts(parked, body));
        expectRefused(answer, 400);
        expect((answer.body.problems as string[]).some((problem) => problem.startsWith(where))).toBe(true);
      }),
      { numRuns: 1_500 },
    );
  });

  test('a lone surrogate in any label or annotation, name or value: 400, and nothing reaches Temporal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('labels', 'annotations', 'groupLabels', 'commonLabels', 'commonAnnotations'),
        fc.boolean(),
        illFormedText,
        async (where, inName, text) => {
          const firing = alert({ route: 'chat', tenant: 'hostile' });
          const body = payload([firing]) as unknown as Record<string, Record<string, string>>;
          const set = where === 'labels' || where === 'annotations' ? firing[where] : body[where]!;
          if (inName) set[text] = 'value';
          else set.route = text;
          const answer = await withoutTemporal(() => postAlerts(parked, body));
          expectRefused(answer, 400);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('duplicate JSON keys: the last one counts, as in JSON.parse; an invalid last one is a 400 that starts nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('version', 'status', 'alerts'),
        fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('3', 'pending', [])),
        async (key, wrong) => {
          const text = validText();
          const valid = JSON.stringify((JSON.parse(text) as Record<string, unknown>)[key]);
          fc.pre(JSON.stringify(wrong) !== valid);
          const body = `{"${key}":${valid},${text.slice(1, -1)},"${key}":${JSON.stringify(wrong)}}`;
          const answer = await withoutTemporal(() => postAlerts(parked, body));
          expectRefused(answer, 400);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a body that is not declared JSON: 415; over the size limit: 413; neither reaches Temporal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
            'application/jsonx',
            'json',
            '',
          ),
          fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }).filter((type) => !/json/i.test(type)),
        ),
        async (contentType) => {
          const answer = await withoutTemporal(() =>
            send(parked, {
              method: 'POST',
              url: '/alerts/alertmanager',
              headers: { ...AUTH, 'content-type': contentType },
              payload: validText(),
            }),
          );
          expectRefused(answer, [400, 415]);
        },
      ),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 * 1024 }),
        fc.constantFrom('annotation', 'label', 'garbage'),
        async (over, where) => {
          const filler = 'x'.repeat(BODY_LIMIT_BYTES.webhook + over);
          const body =
            where === 'garbage'
              ? filler
              : JSON.stringify(
                  payload([
                    alert(
                      { route: 'chat', tenant: 'hostile', ...(where === 'label' && { big: filler }) },
                      where === 'annotation' ? { annotations: { description: filler } } : {},
                    ),
                  ]),
                );
          const answer = await withoutTemporal(() => postAlerts(parked, body));
          expectRefused(answer, 413);
        },
      ),
      { numRuns: 12 },
    );
  });

  /** A route or tenant target: what two alerts must agree on to share a run. */
  const targetOf = (labels: Record<string, string>) => JSON.stringify([labels.route, labels.tenant || null]);
  const idsToTargets = new Map<string, string>();

  test('valid alerts with hostile labels and annotations: 200, ids within Temporal limits, never two targets on one id', async () => {
    const hostileAlert = fc
      .record({
        route: hostileText,
        tenant: fc.option(hostileText, { nil: undefined }),
        extra: fc.dictionary(labelName, hostileText, { maxKeys: 3 }),
        annotations: fc.dictionary(labelName, hostileText, { maxKeys: 3 }),
        fingerprint: hostileText.filter((text) => text.length > 0),
        resolved: fc.boolean(),
      })
      .map(({ route, tenant, extra, annotations, fingerprint, resolved }): Alert => {
        const labels = { ...extra, route, ...(tenant !== undefined && { tenant }) };
        return alert(
          {},
          {
            labels: { ...labels, alertname: 'LLMInputTokensPerRequestHigh', severity: 'S2' },
            annotations,
            fingerprint,
            ...(resolved && { status: 'resolved', endsAt: '2026-11-28T10:30:00Z' }),
          },
        );
      });
    await fc.assert(
      fc.asyncProperty(fc.array(hostileAlert, { minLength: 1, maxLength: 3 }), async (alerts) => {
        const before = temporal.calls.length;
        const answer = await postAlerts(parked, payload(alerts));
        expect(answer.status).toBe(200);
        const outcomes = answer.body.outcomes as Array<{ outcome: string; workflowId?: string; reason?: string }>;
        expect(outcomes).toHaveLength(alerts.length);
        outcomes.forEach((outcome, index) => {
          const labels = alerts[index]!.labels;
          if (outcome.outcome === 'rejected') {
            // Refused for a reason a retry cannot fix, and said why.
            expect(outcome.reason).toMatch(/needs the label\(s\) route|workflow id/);
            if (/needs the label/.test(outcome.reason!)) expect(labels.route).toBe('');
            return;
          }
          // A resolution may find a run an earlier case started for the same target; a case may repeat an earlier one.
          expect(['started-or-signalled', 'no-active-run', 'resolution-signalled', 'repeat-absorbed']).toContain(
            outcome.outcome,
          );
          const id = outcome.workflowId!;
          expect(utf8Bytes(id)).toBeLessThanOrEqual(MAX_WORKFLOW_ID_BYTES);
          expect(isWellFormed(id)).toBe(true);
          const target = targetOf(labels);
          expect(idsToTargets.get(id) ?? target).toBe(target);
          idsToTargets.set(id, target);
          if (outcome.outcome === 'started-or-signalled') started.add(id);
        });
        // One Temporal call per run the alerts go to (not per alert), none for a refused one or an absorbed repeat.
        const runs = new Set(
          outcomes
            .filter(({ outcome }) => outcome !== 'rejected' && outcome !== 'repeat-absorbed')
            .map(({ workflowId }) => workflowId),
        );
        expect(temporal.calls.length - before).toBe(runs.size);
      }),
      { numRuns: 300 },
    );
  });

  test('a valid alert too large for Temporal (a huge annotation or label): refused in its outcome, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        // payload() copies the alert's labels into commonLabels: a label counts twice against the body limit.
        fc.integer({ min: 2 * 1024 * 1024, max: BODY_LIMIT_BYTES.webhook / 2 - 64 * 1024 }),
        fc.constantFrom('annotation', 'label'),
        fc.nat({ max: 1_000_000 }),
        async (size, where, n) => {
          const filler = 'x'.repeat(size);
          const big = alert(
            { route: 'chat', tenant: `huge-${n}`, ...(where === 'label' && { model: filler }) },
            { fingerprint: `fp-huge-${n}`, ...(where === 'annotation' && { annotations: { description: filler } }) },
          );
          const answer = await withoutTemporal(() => postAlerts(parked, payload([big])));
          expect(answer.status).toBe(200);
          const [outcome] = answer.body.outcomes as Array<{ outcome: string; reason: string }>;
          expect(outcome).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/bytes/) as unknown });
        },
      ),
      { numRuns: 6 },
    );
  });

  test('ids of different targets differ, and the same target always gets the same id (many more targets, resolved alerts)', async () => {
    // Resolved alerts name their run's id without starting one (no run is open): cheap enough for many targets.
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(hostileText, fc.option(hostileText, { nil: undefined })), {
          minLength: 2,
          maxLength: 6,
          selector: ([route, tenant]) => JSON.stringify([route, tenant || null]),
        }),
        async (targets) => {
          const alerts = targets.map(([route, tenant], index) =>
            alert(
              { route, ...(tenant !== undefined && { tenant }) },
              { status: 'resolved', endsAt: '2026-11-28T10:30:00Z', fingerprint: `fp-${index}` },
            ),
          );
          const answer = await postAlerts(parked, payload(alerts));
          expect(answer.status).toBe(200);
          const outcomes = answer.body.outcomes as Array<{ outcome: string; workflowId?: string }>;
          outcomes.forEach(({ outcome, workflowId }, index) => {
            if (outcome === 'rejected') return;
            // An earlier property may have started a run for the same target; the same resolution sent to it again
            // within ingress.repeatWindow (an earlier case at the same index) is absorbed, as any unchanged repeat.
            expect(['no-active-run', 'resolution-signalled', 'repeat-absorbed']).toContain(outcome);
            expect(utf8Bytes(workflowId!)).toBeLessThanOrEqual(MAX_WORKFLOW_ID_BYTES);
            const target = targetOf(alerts[index]!.labels);
            expect(idsToTargets.get(workflowId!) ?? target).toBe(target);
            idsToTargets.set(workflowId!, target);
          });
        },
      ),
      { numRuns: 400 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Credentials, on every authenticated route

const WRONG_CREDENTIALS = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('', 'Bearer', 'Bearer ', `Bearer  ${INGRESS_TOKEN} extra`, `Token ${INGRESS_TOKEN}`, INGRESS_TOKEN),
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((token) => `Bearer ${token}`),
  // The token nearly right: one character changed, cut, or extended.
  fc
    .tuple(fc.nat({ max: INGRESS_TOKEN.length - 1 }), fc.constantFrom('a', 'Z', '0', '-', ' ', '\t'))
    .map(([at, char]) => `Bearer ${INGRESS_TOKEN.slice(0, at)}${char}${INGRESS_TOKEN.slice(at + 1)}`),
  fc.nat({ max: INGRESS_TOKEN.length - 1 }).map((end) => `Bearer ${INGRESS_TOKEN.slice(0, end)}`),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 4 }).map((more) => `Bearer ${INGRESS_TOKEN}${more}`),
  fc.constant(`Bearer ${INGRESS_TOKEN.toUpperCase()}`),
  // An operator's token is not the ingress token.
  fc.constantFrom(...Object.values(TEST_OPERATOR_TOKENS)).map((token) => `Bearer ${token}`),
  // Basic auth where only a token is configured.
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.constantFrom(INGRESS_TOKEN, 'password'))
    .map(([user, password]) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`),
);

/** What the ingress accepts for its token: `Bearer TOKEN`, the scheme in any case, any space around. */
function carriesIngressToken(header: string | undefined): boolean {
  const parts = header?.trim().split(/\s+/) ?? [];
  return parts.length === 2 && parts[0]!.toLowerCase() === 'bearer' && parts[1] === INGRESS_TOKEN;
}

const AUTHENTICATED_ROUTES: Array<{ method: 'GET' | 'POST'; url: () => string; body?: object }> = [
  { method: 'POST', url: () => '/alerts/alertmanager', body: payload([alert({ route: 'chat', tenant: 'creds' })]) },
  {
    method: 'POST',
    url: () => '/v1/runs',
    body: { playbook: 'tier-review', labels: { route: 'creds' }, startedBy: 'U0X', reason: 'r' },
  },
  { method: 'GET', url: () => runPath(pendingRun) },
  { method: 'POST', url: () => runPath(pendingRun, '/abort'), body: { by: 'U0SRE', reason: 'r' } },
  { method: 'POST', url: () => runPath(pendingRun, '/resolve'), body: { by: 'U0SRE', reason: 'r' } },
  { method: 'POST', url: () => runPath(pendingRun, '/decide'), body: { stepId: 'approve-throttle', approve: true } },
];

describe('credentials', () => {
  test('missing or wrong bearer or basic credentials on any route: 401 with WWW-Authenticate, nothing reaches Temporal', async () => {
    const basicOnly = ingress(PARKED_QUEUE, { credentials: { basicAuth: { username: 'am', password: 'secret-pw' } } });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...AUTHENTICATED_ROUTES),
          fc.boolean(),
          WRONG_CREDENTIALS,
          fc.oneof(
            fc.constant(undefined),
            fc.constantFrom(...Object.values(TEST_OPERATOR_TOKENS)),
            fc.string({ maxLength: 30 }),
          ),
          async (route, useBasicApp, authorization, operatorToken) => {
            const app = useBasicApp ? basicOnly : live;
            // The basic-auth app's own pair, in any case the generator could produce it, is the one right answer.
            const right = `Basic ${Buffer.from('am:secret-pw').toString('base64')}`;
            fc.pre(!(useBasicApp && authorization?.trim() === right));
            fc.pre(useBasicApp || !carriesIngressToken(authorization));
            const answer = await withoutTemporal(() =>
              send(app, {
                method: route.method,
                url: route.url(),
                headers: {
                  ...(authorization !== undefined && { authorization }),
                  ...(operatorToken !== undefined && { 'x-operator-token': operatorToken }),
                  ...(route.body && JSON_TYPE),
                },
                ...(route.body && { payload: JSON.stringify(route.body) }),
              }),
            );
            expectRefused(answer, 401);
            expect(answer.headers['www-authenticate']).toBe(
              useBasicApp ? 'Basic realm="finops-soar"' : 'Bearer realm="finops-soar"',
            );
          },
        ),
        { numRuns: 1_500 },
      );
      // Wrong basic pairs against the basic-auth configuration.
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), async (user, password) => {
          fc.pre(!(user === 'am' && password === 'secret-pw'));
          const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
          const answer = await withoutTemporal(() =>
            postAlerts(basicOnly, payload([alert({ route: 'c' })]), { authorization }),
          );
          expectRefused(answer, 401);
        }),
        { numRuns: 300 },
      );
    } finally {
      await basicOnly.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The runs API

const manualStart = (labels: Record<string, string>) => ({
  playbook: 'tier-review',
  labels,
  startedBy: 'U0INCIDENT',
  reason: 'hostile input',
});

describe('the runs API', () => {
  test('POST /v1/runs: invalid bodies 422, unknown playbooks 404, hostile labels a bounded id or a 422; never 5xx', async () => {
    const invalidStart = fc.oneof(
      // A required field missing, or of the wrong type.
      fc
        .tuple(
          fc.constantFrom('playbook', 'startedBy', 'reason', 'labels', 'annotations'),
          fc.oneof(
            fc.constant(undefined),
            fc.constant(null),
            fc.integer(),
            fc.boolean(),
            fc.constant(''),
            fc.array(fc.string()),
          ),
        )
        .filter(([field, value]) => !(value === undefined && (field === 'labels' || field === 'annotations')))
        .map(([field, value]) => {
          const body: Record<string, unknown> = manualStart({ route: 'x' });
          if (value === undefined) delete body[field];
          else body[field] = value;
          return body;
        }),
      // A key it does not know (the schema is strict).
      fc
        .tuple(
          fc
            .string({ minLength: 1, maxLength: 12 })
            .filter((key) => !['playbook', 'labels', 'annotations', 'startedBy', 'reason'].includes(key)),
          fc.jsonValue({ maxDepth: 2 }),
        )
        .map(([key, value]) => ({ ...manualStart({ route: 'x' }), [key]: value })),
      // A label that is not a string.
      fc
        .oneof(fc.integer(), fc.boolean(), fc.constant(null))
        .map((value) => ({ ...manualStart({}), labels: { route: value } })),
      // Not an object at all.
      fc
        .jsonValue({ maxDepth: 3 })
        .filter((value) => value === null || typeof value !== 'object' || Array.isArray(value)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 2, arbitrary: invalidStart.map((body) => ({ kind: 'invalid' as const, body })) },
          {
            weight: 1,
            arbitrary: fc
              .string({ minLength: 1, maxLength: 40 })
              .filter((name) => !TEST_PLAYBOOKS.some(({ spec }) => spec.name === name))
              .map((name) => ({
                kind: 'unknown' as const,
                body: { ...manualStart({ route: 'x' }), playbook: name },
              })),
          },
          {
            weight: 2,
            arbitrary: fc
              .record({
                route: hostileText.filter((route) => route !== ''),
                tenant: fc.option(hostileText, { nil: undefined }),
              })
              .map(({ route, tenant }) => ({
                kind: 'hostile' as const,
                body: manualStart({ route, ...(tenant !== undefined && { tenant }) }),
              })),
          },
        ),
        async ({ kind, body }) => {
          const before = temporal.calls.length;
          const answer = await send(parked, {
            method: 'POST',
            url: '/v1/runs',
            headers: { ...AUTH, ...JSON_TYPE },
            payload: JSON.stringify(body),
          });
          expect(answer.status).toBeLessThan(500);
          if (kind === 'invalid') expectRefused(answer, poisonsPrototypes(body) ? 400 : 422);
          if (kind === 'unknown') expectRefused(answer, 404);
          if (kind !== 'hostile' || answer.status !== 202) {
            if (kind === 'hostile') expectRefused(answer, 422);
            expect(temporal.calls.slice(before)).toEqual([]);
            return;
          }
          const id = answer.body.workflowId as string;
          expect(utf8Bytes(id)).toBeLessThanOrEqual(MAX_WORKFLOW_ID_BYTES);
          started.add(id);
        },
      ),
      {
        numRuns: 800,
        // A generated key can be `__proto__`: the parser's 400, not the schema's 422. Always tried, not only by chance.
        examples: [
          [{ kind: 'invalid' as const, body: { ...manualStart({ route: 'x' }), ['__proto__']: { polluted: 'yes' } } }],
        ],
      },
    );
  });

  const operatorIds = Object.keys(TEST_OPERATOR_TOKENS);
  const APPROVER_OPERATORS = ['U0SRE', 'U0PRODUCT', 'U0LEAD'];

  test('decisions: only the token owner decides, a forged or missing operator token is 401, and the pending run stays undecided', async () => {
    const tokenChoice = fc.oneof(
      fc.constantFrom(...operatorIds).map((owner) => ({ owner, token: TEST_OPERATOR_TOKENS[owner] })),
      fc.constant({ owner: undefined, token: undefined }),
      fc.constant({ owner: undefined, token: INGRESS_TOKEN }),
      fc.string({ maxLength: 40 }).map((token) => ({ owner: undefined, token })),
      // Another operator's token nearly right.
      fc
        .tuple(fc.constantFrom(...operatorIds), fc.nat({ max: 20 }), fc.constantFrom('x', '0', ' ', ''))
        .map(([owner, at, char]) => {
          const token = TEST_OPERATOR_TOKENS[owner]!;
          return { owner: undefined, token: token.slice(0, at) + char + token.slice(at + 1) };
        })
        .filter(({ token }) => !Object.values(TEST_OPERATOR_TOKENS).includes(token)),
    );
    const body = fc.record(
      {
        stepId: fc.oneof(fc.constant('approve-throttle'), fc.constant('cap-context/approve'), hostileText),
        approve: fc.oneof(
          { weight: 5, arbitrary: fc.boolean() },
          { weight: 1, arbitrary: fc.constantFrom('yes', 1, null) },
        ),
        by: fc.oneof(fc.constantFrom(...operatorIds, 'U0FINOPS', 'U0INCIDENT', '*', ''), hostileText),
        reason: hostileText,
      },
      { requiredKeys: ['stepId', 'approve'] },
    );
    const target = fc.oneof(
      { weight: 3, arbitrary: fc.constant('pending') },
      { weight: 1, arbitrary: hostileText.filter((id) => id !== '').map((id) => `playbook/tier-review/${id}`) },
    );

    await fc.assert(
      fc.asyncProperty(tokenChoice, body, target, async ({ owner, token }, decision, where) => {
        const workflowId = where === 'pending' ? pendingRun : where;
        const invalid =
          typeof decision.approve !== 'boolean' ||
          decision.stepId === '' ||
          decision.by === '' ||
          decision.reason === '' ||
          codePoints(decision.stepId) > 256 ||
          codePoints(decision.by ?? '') > 256 ||
          codePoints(decision.reason ?? '') > 4_000 ||
          utf8Bytes(workflowId) > MAX_WORKFLOW_ID_BYTES;
        const isOwn = decision.by === undefined || decision.by === owner;
        // An approver deciding for themselves would decide the pending run: that is for the runs API's own tests.
        fc.pre(invalid || !owner || !isOwn || !APPROVER_OPERATORS.includes(owner) || workflowId !== pendingRun);
        const before = temporal.calls.length;
        const answer = await send(live, {
          method: 'POST',
          url: runPath(workflowId, '/decide'),
          headers: { ...AUTH, ...JSON_TYPE, ...(token !== undefined && { 'x-operator-token': token }) },
          payload: JSON.stringify(decision),
        });
        const calls = temporal.calls.slice(before);
        expect(answer.status).toBeLessThan(500);
        if (invalid) {
          expectRefused(answer, [400, 422]);
          expect(calls).toEqual([]);
        } else if (!owner) {
          expectRefused(answer, 401);
          expect(calls).toEqual([]);
        } else if (!isOwn) {
          expectRefused(answer, 403);
          expect(calls).toEqual([]);
        } else if (workflowId !== pendingRun) {
          expectRefused(answer, [403, 404]);
        } else {
          // U0INTERN, who may not approve S1 steps: refused, and the refusal recorded in the run.
          expect(owner).toBe('U0INTERN');
          expectRefused(answer, 403);
          expect(calls.map(({ kind }) => kind)).toEqual(['signal']);
        }
      }),
      { numRuns: 1_000 },
    );

    const status = await runStatus(pendingRun);
    expect(status.decisions).toEqual([]);
    expect(status.pendingApproval?.approvedBy).toEqual([]);
    expect(new Set(status.refusedDecisions.map(({ by }) => by))).toEqual(new Set(['U0INTERN']));
  });

  test('abort and resolve: invalid bodies 422, unknown or over-long ids 404 or 400; never 5xx, and the pending run stays', async () => {
    const body = fc.oneof(
      fc
        .record({ by: fc.string({ minLength: 1, maxLength: 20 }), reason: hostileText.filter((text) => text !== '') })
        .map((valid) => ({ valid: true, body: valid })),
      fc
        .oneof(
          fc.constant({}),
          fc.record({ by: fc.constant(''), reason: fc.constant('r') }),
          fc.record({ by: fc.oneof(fc.integer(), fc.constant(null), fc.boolean()), reason: fc.constant('r') }),
          fc.record({ by: fc.constant('U0SRE') }),
          fc.record({ by: fc.constant('U0SRE'), reason: fc.constant('r'), extra: fc.jsonValue({ maxDepth: 1 }) }),
          fc
            .jsonValue({ maxDepth: 2 })
            .filter((value) => value === null || typeof value !== 'object' || Array.isArray(value)),
        )
        .map((invalid) => ({ valid: false, body: invalid })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/abort', '/resolve'),
        fc.oneof(
          fc.constant('pending'),
          // '.' and '..' are dot segments: every HTTP client resolves them away before sending.
          hostileText.filter((id) => id !== '' && id !== '.' && id !== '..'),
        ),
        body,
        async (action, where, { valid, body: sent }) => {
          // A valid abort or resolution of the pending run would end it: only invalid ones are sent to it.
          fc.pre(!(valid && where === 'pending'));
          const workflowId = where === 'pending' ? pendingRun : where;
          const answer = await send(live, {
            method: 'POST',
            url: runPath(workflowId, action),
            headers: { ...AUTH, ...JSON_TYPE },
            payload: JSON.stringify(sent),
          });
          expect(answer.status).toBeLessThan(500);
          if (!valid) expectRefused(answer, [400, 422]);
          else if (utf8Bytes(workflowId) > MAX_WORKFLOW_ID_BYTES) expectRefused(answer, 400);
          else expectRefused(answer, 404);
        },
      ),
      { numRuns: 600 },
    );
    expect((await runStatus(pendingRun)).state).toBe('awaiting-approval');
  });

  test('decisions, aborts and resolutions with fields over their bounds, up to the body limit: 422, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/decide', '/abort', '/resolve'),
        fc.constantFrom('reason', 'stepId', 'by'),
        fc.integer({ min: 4_001, max: BODY_LIMIT_BYTES.runs - 1024 }),
        async (action, field, size) => {
          const body: Record<string, unknown> =
            action === '/decide'
              ? { stepId: 'approve-throttle', approve: true, by: 'U0INTERN', reason: 'r' }
              : { by: 'U0SRE', reason: 'r' };
          fc.pre(field in body);
          body[field] = 'x'.repeat(size);
          const answer = await withoutTemporal(() =>
            send(live, {
              method: 'POST',
              url: runPath('playbook/tier-review/route=nothing-here', action),
              headers: { ...AUTH, ...JSON_TYPE, 'x-operator-token': TEST_OPERATOR_TOKENS.U0INTERN! },
              payload: JSON.stringify(body),
            }),
          );
          expectRefused(answer, 422);
        },
      ),
      { numRuns: 8 },
    );
  });

  test('GET /v1/runs/:id: any id within Temporal limits reaches Temporal (404 for no such run); a longer one is a 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileText.filter((id) => id !== ''),
        async (suffix) => {
          // No property starts runs of this playbook: a parked run (no worker) could not answer the query.
          const workflowId = `playbook/no-such-playbook/route=${suffix}`;
          const answer = await send(live, { method: 'GET', url: runPath(workflowId), headers: AUTH });
          expectRefused(answer, utf8Bytes(workflowId) > MAX_WORKFLOW_ID_BYTES ? 400 : 404);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Slack

/** A click on Approve of the pending run's step, as `user`, as Slack would send it. */
function clickBody(user: string, workflowId: string, actionTs: string, responseKey = `${user}-${actionTs}`) {
  return interactivityFormBody(
    blockActionsPayload({
      user,
      actionId: 'approve',
      value: JSON.stringify({ w: workflowId, s: 'approve-throttle' }),
      channel: 'C0APPROVALS',
      messageTs: '1700000000.000100',
      responseUrl: slackServer.responseUrl(responseKey),
      actionTs,
    }),
  );
}

const now = () => Math.floor(Date.now() / 1000);

function postSlack(app: FastifyInstance, path: string, body: string, headers: Record<string, string | string[]>) {
  return send(app, {
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: body,
  });
}

const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });

/** Ways a request's signature headers can fail to be Slack's: missing, repeated, forged, for another body or time, stale. */
const forgery = fc.oneof(
  fc.constantFrom({ kind: 'unsigned' as const }, { kind: 'no-signature' as const }, { kind: 'no-timestamp' as const }),
  fc.constant({ kind: 'repeated' as const }),
  fc
    .string({ minLength: 1, maxLength: 40 })
    .filter((secret) => secret !== SLACK_SIGNING_SECRET)
    .map((secret) => ({ kind: 'other-secret' as const, secret })),
  // The body altered after signing.
  fc.string({ minLength: 1, maxLength: 20 }).map((extra) => ({ kind: 'other-body' as const, extra })),
  // Signed at another time than the one sent.
  fc.integer({ min: 1, max: 10_000 }).map((shift) => ({ kind: 'other-time' as const, shift })),
  // Genuinely signed, but too old (a replay after the window) or dated too far in the future.
  fc
    // A minute clear of the 300 s window either way, so that a slow event loop cannot bring an age back inside it.
    .oneof(fc.integer({ min: 360, max: 1_000_000_000 }), fc.integer({ min: -1_000_000, max: -360 }))
    .map((age) => ({ kind: 'stale' as const, age })),
  // A right signature in the wrong form, or any 64 hex digits.
  fc.constantFrom('upper', 'v1', 'cut', 'extra-digit').map((form) => ({ kind: 'misshapen' as const, form })),
  hex64.map((hex) => ({ kind: 'random' as const, signature: `v0=${hex}` })),
  // The signing time sent otherwise: wrapped (a sign, a fraction, leading zeros, spaces, digits more) or replaced.
  fc
    .tuple(fc.constantFrom('', '-', '+', ' ', '0', '00'), fc.constantFrom('', '.5', ' ', '0', '0000000000', 'e3'))
    .filter(([before, after]) => before + after !== '')
    .map(([before, after]) => ({ kind: 'bad-timestamp' as const, before, after })),
  fc.string({ maxLength: 14 }).map((timestamp) => ({ kind: 'other-timestamp' as const, timestamp })),
);

function forgedHeaders(body: string, forged: typeof forgery extends fc.Arbitrary<infer F> ? F : never) {
  const at = now();
  const right = slackSignature(body, at);
  const signed = (signature: string, timestamp: number | string = at): Record<string, string | string[]> => ({
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signature,
  });
  switch (forged.kind) {
    case 'unsigned':
      return {};
    case 'no-signature':
      return { 'x-slack-request-timestamp': String(at) };
    case 'no-timestamp':
      return { 'x-slack-signature': right };
    case 'repeated':
      return { 'x-slack-request-timestamp': [String(at), String(at)], 'x-slack-signature': [right, right] };
    case 'other-secret':
      return signed(slackSignature(body, at, forged.secret));
    case 'other-body':
      return signed(slackSignature(body + forged.extra, at));
    case 'other-time':
      return signed(slackSignature(body, at - forged.shift));
    case 'stale':
      return signed(slackSignature(body, at - forged.age), at - forged.age);
    case 'misshapen':
      return signed(
        forged.form === 'upper'
          ? right.toUpperCase()
          : forged.form === 'v1'
            ? right.replace('v0=', 'v1=')
            : forged.form === 'cut'
              ? right.slice(0, -1)
              : `${right}0`,
      );
    case 'random':
      return signed(forged.signature);
    case 'bad-timestamp':
      return signed(right, `${forged.before}${at}${forged.after}`);
    case 'other-timestamp':
      // Any text but the time signed.
      return signed(right, forged.timestamp === String(at) ? `${at}0` : forged.timestamp);
  }
}

describe('Slack', () => {
  test('forged, expired, future or malformed signatures on clicks and commands: 401, and nothing reaches Temporal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/slack/interactivity', '/slack/commands'),
        fc.constantFrom('U0SRE', 'U0PRODUCT', 'U0LEAD'),
        forgery,
        async (path, user, forged) => {
          const body =
            path === '/slack/commands'
              ? new URLSearchParams({
                  command: '/finops-soar',
                  text: 'start tier-review route=forged why',
                  user_id: user,
                }).toString()
              : clickBody(user, pendingRun, '1700000100.000001');
          const answer = await withoutTemporal(() => postSlack(live, path, body, forgedHeaders(body, forged)));
          expectRefused(answer, 401);
        },
      ),
      { numRuns: 1_800 },
    );
    const status = await runStatus(pendingRun);
    expect(status.decisions).toEqual([]);
    expect(status.pendingApproval?.approvedBy).toEqual([]);
  });

  test('a signed click delivered again within the window counts once, and after the window not at all', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 290 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 301, max: 100_000 }), { maxLength: 3 }),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }),
        async (freshAges, expiredAges, actionTs) => {
          // A run of its own for each case, waiting for its S1 approval.
          const start = await send(live, {
            method: 'POST',
            url: '/v1/runs',
            headers: { ...AUTH, ...JSON_TYPE },
            payload: manualStart({ route: `replay-${++runs}`, tenant: 'acme' }),
          });
          expect(start.status).toBe(202);
          const run = start.body.workflowId as string;
          started.add(run);
          await waitFor('the pending approval', async () => (await runStatus(run)).pendingApproval !== null);

          const body = clickBody('U0SRE', run, actionTs);
          const deliveries = [
            ...freshAges.map((age) => ({ age, fresh: true })),
            ...expiredAges.map((age) => ({ age, fresh: false })),
          ];
          const answers = await Promise.all(
            deliveries.map(({ age }) => {
              const signedAt = now() - age;
              return postSlack(live, '/slack/interactivity', body, {
                'x-slack-request-timestamp': String(signedAt),
                'x-slack-signature': slackSignature(body, signedAt),
              });
            }),
          );
          expect(answers.map(({ status }) => status)).toEqual(deliveries.map(({ fresh }) => (fresh ? 200 : 401)));
          await waitFor('every decision taken', () => temporal.settled());
          const status = await runStatus(run);
          expect(status.decisions.map(({ by }) => by)).toEqual(['U0SRE']);
          expect(status.pendingApproval?.approvedBy).toEqual(['U0SRE']);
        },
      ),
      { numRuns: 15 },
    );
  });

  test('signed slash commands with hostile text: always answered 200 in Slack terms, and any run it names is bounded', async () => {
    const text = fc.oneof(
      fc
        .tuple(
          fc.array(fc.tuple(fc.constantFrom('route', 'tenant', 'model'), hostileText), { maxLength: 3 }),
          hostileText,
        )
        .map(
          ([labels, reason]) =>
            `start tier-review ${labels.map(([name, value]) => `${name}=${value}`).join(' ')} ${reason}`,
        ),
      hostileText.map((rest) => `start ${rest}`),
      hostileText,
    );
    await fc.assert(
      fc.asyncProperty(text, fc.constantFrom('U0SRE', 'U0INTERN', 'U0NOBODY'), async (command, user) => {
        const body = new URLSearchParams({ command: '/finops-soar', text: command, user_id: user }).toString();
        const signedAt = now();
        const answer = await postSlack(parked, '/slack/commands', body, {
          'x-slack-request-timestamp': String(signedAt),
          'x-slack-signature': slackSignature(body, signedAt),
        });
        expect(answer.status).toBe(200);
        const reply = answer.body as { response_type: string; text: string };
        expect(['ephemeral', 'in_channel']).toContain(reply.response_type);
        if (reply.response_type === 'in_channel') {
          expect(user).toBe('U0SRE');
          // Slack shows &lt; &gt; &amp; as the characters: the id as a person reads it.
          const id = reply.text
            .slice(reply.text.lastIndexOf('Run: ') + 'Run: '.length)
            .replace(/&lt;/g, '<')
            .replace(/&gt;/g, '>')
            .replace(/&amp;/g, '&');
          expect(reply.text.slice(0, reply.text.lastIndexOf('Run: '))).not.toMatch(/<(?!@U0SRE>)/);
          expect(utf8Bytes(id)).toBeLessThanOrEqual(MAX_WORKFLOW_ID_BYTES);
          started.add(id);
        } else expect(reply.text).toMatch(/^(Not started|Usage|Say why)/);
      }),
      { numRuns: 600 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The bugs these properties found, as plain examples (each answered 5xx or 414 before its fix)

describe('regressions', () => {
  const callsDuring = async <T>(act: () => Promise<T>) => {
    const before = temporal.calls.length;
    const result = await act();
    return { result, calls: temporal.calls.slice(before) };
  };

  test('a target label too long for a workflow id: that alert is refused in its outcome, its sibling runs, 200 (was 500, retried forever)', async () => {
    const long = alert({ route: `${'a'.repeat(970)}/`, tenant: 'long' }, { fingerprint: 'fp-long' });
    const sibling = alert({ route: 'chat', tenant: 'sibling-of-long' }, { fingerprint: 'fp-sibling' });
    const { result: answer, calls } = await callsDuring(() => postAlerts(parked, payload([long, sibling])));
    expect(answer.status).toBe(200);
    expect(answer.body.outcomes).toEqual([
      {
        outcome: 'rejected',
        fingerprint: 'fp-long',
        playbook: 'cap-context',
        reason: "its workflow id is 1010 bytes, over Temporal's limit of 1000: the target's labels are too long",
      },
      {
        outcome: 'started-or-signalled',
        fingerprint: 'fp-sibling',
        playbook: 'cap-context',
        workflowId: playbookRunId('cap-context', 'route=chat,tenant=sibling-of-long'),
      },
    ]);
    expect(calls).toEqual([
      { kind: 'signalWithStart', workflowId: playbookRunId('cap-context', 'route=chat,tenant=sibling-of-long') },
    ]);
    started.add(playbookRunId('cap-context', 'route=chat,tenant=sibling-of-long'));
  });

  test('a label over 2 KiB that is not part of the target: the run goes on, its search attribute bounded (was terminated by Temporal)', async () => {
    const model = 'm'.repeat(3_000);
    const answer = await postAlerts(
      live,
      payload([alert({ route: 'chat', tenant: 'long-model', model }, { fingerprint: 'fp-long-model' })]),
    );
    expect(answer.status).toBe(200);
    const workflowId = playbookRunId('cap-context', 'route=chat,tenant=long-model');
    started.add(workflowId);
    await waitFor('the run mitigated', async () => {
      const current = await runStatus(workflowId);
      return current.state === 'mitigated' ? current : undefined;
    });
    const description = await harness.env.client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('RUNNING');
    const shown = description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.model)!;
    expect(shown).toBe(keywordValue(model));
    expect(utf8Bytes(shown)).toBeLessThanOrEqual(MAX_KEYWORD_BYTES);
    expect(shown).toMatch(/^m+…[0-9a-f]{8}$/);
  });

  test('a lone surrogate in a label: 400 (was a run whose id Temporal rewrote to U+FFFD, shared with the label "\ufffd")', async () => {
    const answer = await withoutTemporal(() =>
      postAlerts(parked, payload([alert({ route: '\ud800', tenant: 'lone' })])),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.problems).toContainEqual(
      expect.stringMatching(/^alerts\[0\]\.labels\.route: contains a lone UTF-16 surrogate/),
    );
  });

  test('an alert whose run input exceeds what Temporal takes: refused in its outcome, 200 (was 500, retried forever)', async () => {
    const big = alert(
      { route: 'chat', tenant: 'big-annotation' },
      { fingerprint: 'fp-big', annotations: { description: 'x'.repeat(2_500_000) } },
    );
    const answer = await withoutTemporal(() => postAlerts(parked, payload([big])));
    expect(answer.status).toBe(200);
    const [outcome] = answer.body.outcomes as Array<{ outcome: string; reason: string }>;
    expect(outcome?.outcome).toBe('rejected');
    expect(outcome?.reason).toMatch(
      /^the run's input \(its playbook, labels and annotations\) is \d+ bytes, over the 1048576/,
    );
  });

  test('a manual start whose id would be too long: 422 saying why (was 500)', async () => {
    const answer = await withoutTemporal(() =>
      send(parked, {
        method: 'POST',
        url: '/v1/runs',
        headers: { ...AUTH, ...JSON_TYPE },
        payload: manualStart({ route: '中'.repeat(400) }),
      }),
    );
    expect(answer.status).toBe(422);
    expect(answer.body.error).toBe(
      "playbook tier-review cannot run: its workflow id is 1227 bytes, over Temporal's limit of 1000: the target's labels are too long",
    );
  });

  test("a run whose id is over 100 characters can be read and aborted (was 414: fastify's default maxParamLength)", async () => {
    const start = await send(live, {
      method: 'POST',
      url: '/v1/runs',
      headers: { ...AUTH, ...JSON_TYPE },
      payload: manualStart({
        route: 'summarize-long-documents-for-the-legal-team',
        tenant: 'acme-corporation-emea-west',
      }),
    });
    expect(start.status).toBe(202);
    const id = start.body.workflowId as string;
    started.add(id);
    expect(id.length).toBeGreaterThan(100);
    const status = await waitFor('the run answers', async () => {
      const answer = await send(live, { method: 'GET', url: runPath(id), headers: AUTH });
      return answer.status === 200 && answer.body.pendingApproval ? answer : undefined;
    });
    expect(status.body.target).toBe(
      'route=summarize-long-documents-for-the-legal-team,tenant=acme-corporation-emea-west',
    );
    const abort = await send(live, {
      method: 'POST',
      url: runPath(id, '/abort'),
      headers: { ...AUTH, ...JSON_TYPE },
      payload: { by: 'U0SRE', reason: 'regression test' },
    });
    expect(abort.status).toBe(200);
  });

  test('an id longer than Temporal takes: 400 before any call (after raising maxParamLength it would have been 500)', async () => {
    const id = `playbook/tier-review/route=${'a'.repeat(1_000)}`;
    for (const [method, action] of [
      ['GET', ''],
      ['POST', '/abort'],
      ['POST', '/resolve'],
      ['POST', '/decide'],
    ] as const) {
      const answer = await withoutTemporal(() =>
        send(live, {
          method,
          url: runPath(id, action),
          headers: { ...AUTH, ...(method === 'POST' && JSON_TYPE), 'x-operator-token': TEST_OPERATOR_TOKENS.U0INTERN! },
          ...(method === 'POST' && {
            payload:
              action === '/decide' ? { stepId: 'approve-throttle', approve: true } : { by: 'U0SRE', reason: 'r' },
          }),
        }),
      );
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe(
        "no run can have this id: its workflow id is 1027 bytes, over Temporal's limit of 1000",
      );
    }
  });

  test('a decision or abort whose reason is over its bound: 422 (was 500 when Temporal refused 2 MiB)', async () => {
    const reason = 'x'.repeat(BODY_LIMIT_BYTES.runs - 1024);
    const decide = await withoutTemporal(() =>
      send(live, {
        method: 'POST',
        url: runPath(pendingRun, '/decide'),
        headers: { ...AUTH, ...JSON_TYPE, 'x-operator-token': TEST_OPERATOR_TOKENS.U0INTERN! },
        payload: { stepId: 'approve-throttle', approve: true, reason },
      }),
    );
    expect(decide.status).toBe(422);
    expect(decide.body.problems).toEqual([
      expect.stringMatching(/^reason: Too big: expected string to have <=4000 characters/),
    ]);
    const abort = await withoutTemporal(() =>
      send(live, {
        method: 'POST',
        url: runPath(pendingRun, '/abort'),
        headers: { ...AUTH, ...JSON_TYPE },
        payload: { by: 'U0SRE', reason },
      }),
    );
    expect(abort.status).toBe(422);
  });
});

test('the server holds only the runs the properties legitimately started', async () => {
  // Visibility lags the starts a little: wait for it to catch up, then compare.
  const listed = await waitFor('visibility to list every started run', async () => {
    const ids = new Set<string>();
    for await (const { workflowId } of harness.env.client.workflow.list()) ids.add(workflowId);
    return [...started].every((id) => ids.has(id)) ? ids : undefined;
  });
  // The engine's own singleton (the limits across runs) is the worker's, not the ingress's.
  // The engine's own workflows (its limits) are started by the runs, not by input.
  const isEngineWorkflow = (id: string) => id === ENGINE_LIMITS_WORKFLOW_ID || id.startsWith(LIMITS_WORKFLOW_PREFIX);
  expect([...listed].filter((id) => !started.has(id) && !isEngineWorkflow(id))).toEqual([]);
  expect(started.size).toBeGreaterThan(10);
});
