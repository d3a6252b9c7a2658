import { alertSchema, webhookPayloadSchema } from '../../alerts/alertmanager';

/** A notification exactly as Alertmanager 0.27 POSTs it (JSON text, nanosecond timestamps). */
const REAL_PAYLOAD = `{
  "receiver": "finops-soar",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": { "alertname": "LLMSpendBurnRateHigh", "route": "chat", "severity": "S1", "tenant": "acme" },
      "annotations": { "summary": "Spend burn rate is 14.2x the budget", "runbook_url": "https://runbooks.example/cost" },
      "startsAt": "2026-11-28T10:00:00.123456789Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=llm_spend_burn_rate+%3E+10&g0.tab=1",
      "fingerprint": "3f2b8c1d9e0a4b5c"
    },
    {
      "status": "resolved",
      "labels": { "alertname": "LLMSpendBurnRateHigh", "route": "summarize", "severity": "S1", "tenant": "acme" },
      "annotations": {},
      "startsAt": "2026-11-28T09:00:00.5+01:00",
      "endsAt": "2026-11-28T10:05:00.987654321Z",
      "generatorURL": "",
      "fingerprint": "a1b2c3d4e5f60718"
    }
  ],
  "groupLabels": { "alertname": "LLMSpendBurnRateHigh" },
  "commonLabels": { "alertname": "LLMSpendBurnRateHigh", "severity": "S1", "tenant": "acme" },
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "version": "4",
  "groupKey": "{}/{severity=\\"S1\\"}:{alertname=\\"LLMSpendBurnRateHigh\\"}",
  "truncatedAlerts": 0
}`;

const realPayload = () =>
  JSON.parse(REAL_PAYLOAD) as Record<string, unknown> & { alerts: Array<Record<string, unknown>> };

const problemsOf = (value: unknown) => {
  const result = webhookPayloadSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => ({ path: issue.path, message: issue.message }));
};

describe('webhookPayloadSchema accepts what Alertmanager sends', () => {
  test('a real v4 payload with nanosecond timestamps, an offset and the zero endsAt', () => {
    const result = webhookPayloadSchema.safeParse(realPayload());
    expect(result.success).toBe(true);
    if (!result.success) return;
    expect(result.data.alerts).toHaveLength(2);
    expect(result.data.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { route: 'chat', tenant: 'acme' },
      startsAt: '2026-11-28T10:00:00.123456789Z',
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: '3f2b8c1d9e0a4b5c',
    });
    expect(result.data.alerts[1]?.status).toBe('resolved');
    expect(result.data.groupKey).toBe('{}/{severity="S1"}:{alertname="LLMSpendBurnRateHigh"}');
  });

  test('timestamps are kept as sent (nanoseconds are not rounded away)', () => {
    const result = webhookPayloadSchema.parse(realPayload());
    expect(result.alerts[1]?.endsAt).toBe('2026-11-28T10:05:00.987654321Z');
  });

  test('older senders: truncatedAlerts, annotations and generatorURL may be missing and get defaults', () => {
    const payload = realPayload();
    delete payload.truncatedAlerts;
    delete payload.alerts[0]!.annotations;
    delete payload.alerts[0]!.generatorURL;
    const result = webhookPayloadSchema.parse(payload);
    expect(result.truncatedAlerts).toBe(0);
    expect(result.alerts[0]?.annotations).toEqual({});
    expect(result.alerts[0]?.generatorURL).toBe('');
  });

  test('a truncated notification says how many alerts were left out', () => {
    expect(webhookPayloadSchema.parse({ ...realPayload(), truncatedAlerts: 12 }).truncatedAlerts).toBe(12);
  });

  test('unknown extra fields from newer Alertmanager versions do not break parsing', () => {
    const payload = realPayload();
    payload.alerts[0]!.silencedBy = [];
    expect(webhookPayloadSchema.safeParse({ ...payload, somethingNew: true }).success).toBe(true);
  });
});

describe('webhookPayloadSchema rejects what is not a v4 notification', () => {
  test.each([['3'], ['5'], [4], ['']])('version %j', (version) => {
    expect(problemsOf({ ...realPayload(), version })).toEqual([expect.objectContaining({ path: ['version'] })]);
  });

  test('a missing version', () => {
    const payload = realPayload();
    delete payload.version;
    expect(problemsOf(payload)).toEqual([expect.objectContaining({ path: ['version'] })]);
  });

  test.each([
    'groupKey',
    'status',
    'receiver',
    'groupLabels',
    'commonLabels',
    'commonAnnotations',
    'externalURL',
    'alerts',
  ])('a missing %s', (field) => {
    const payload = realPayload();
    delete payload[field];
    expect(problemsOf(payload).map((p) => p.path)).toEqual([[field]]);
  });

  test('no alerts at all', () => {
    expect(problemsOf({ ...realPayload(), alerts: [] })).toEqual([
      { path: ['alerts'], message: expect.any(String) as string },
    ]);
  });

  test('a status other than firing or resolved', () => {
    expect(problemsOf({ ...realPayload(), status: 'pending' }).map((p) => p.path)).toEqual([['status']]);
  });

  test('a negative or fractional truncatedAlerts', () => {
    expect(problemsOf({ ...realPayload(), truncatedAlerts: -1 }).map((p) => p.path)).toEqual([['truncatedAlerts']]);
    expect(problemsOf({ ...realPayload(), truncatedAlerts: 1.5 }).map((p) => p.path)).toEqual([['truncatedAlerts']]);
  });

  test.each([null, 'x', [], 42])('a body that is not an object: %j', (body) => {
    expect(webhookPayloadSchema.safeParse(body).success).toBe(false);
  });

  test.each(['status', 'labels', 'startsAt', 'endsAt', 'fingerprint'])(
    'an alert without %s, with the path to it',
    (field) => {
      const payload = realPayload();
      delete payload.alerts[1]![field];
      expect(problemsOf(payload).map((p) => p.path)).toEqual([['alerts', 1, field]]);
    },
  );

  test('an empty fingerprint', () => {
    const payload = realPayload();
    payload.alerts[0]!.fingerprint = '';
    expect(problemsOf(payload).map((p) => p.path)).toEqual([['alerts', 0, 'fingerprint']]);
  });

  test('label values must be strings', () => {
    const payload = realPayload();
    payload.alerts[0]!.labels = { route: 'chat', priority: 5 };
    expect(problemsOf(payload).map((p) => p.path)).toEqual([['alerts', 0, 'labels', 'priority']]);
  });

  test.each(['2026-11-28 10:00:00Z', '2026-11-28T10:00:00', '2026-11-28', 'yesterday', '1795860000'])(
    'a startsAt that is not RFC 3339: %s',
    (startsAt) => {
      const payload = realPayload();
      payload.alerts[0]!.startsAt = startsAt;
      expect(problemsOf(payload).map((p) => p.path)).toEqual([['alerts', 0, 'startsAt']]);
    },
  );
});

describe('alertSchema', () => {
  test('one alert on its own, with defaults', () => {
    expect(
      alertSchema.parse({
        status: 'firing',
        labels: { route: 'chat' },
        startsAt: '2026-11-28T10:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: 'fp',
      }),
    ).toEqual({
      status: 'firing',
      labels: { route: 'chat' },
      annotations: {},
      startsAt: '2026-11-28T10:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: 'fp',
    });
  });
});
