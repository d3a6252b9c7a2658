import { webhookPayloadSchema } from '../../alerts/alertmanager';
import { matches, matchesAll, parseMatcher } from '../../alerts/matchers';
import { routeAlerts } from '../../alerts/routing';
import { targetOf } from '../../alerts/target';
import { isFiring, recordNotification, type AlertNotification, type TrackedAlerts } from '../../alerts/tracker';
import { parsePlaybook } from '../../playbook/playbook-load';
import type { Playbook } from '../../playbook/playbook-schema';
import { alert, payload, resolved } from '../helpers/alerts';

describe('label matchers', () => {
  test.each([
    ['alertname="LLMSpendBurnRateHigh"', { name: 'alertname', operator: '=', value: 'LLMSpendBurnRateHigh' }],
    ['severity!=S3', { name: 'severity', operator: '!=', value: 'S3' }],
    ['severity=~"S1|S2"', { name: 'severity', operator: '=~', value: 'S1|S2' }],
    [' route !~ "core|risk|fraud" ', { name: 'route', operator: '!~', value: 'core|risk|fraud' }],
    ['summary="say \\"hi\\""', { name: 'summary', operator: '=', value: 'say "hi"' }],
  ])('parses %s', (text, expected) => {
    expect(parseMatcher(text)).toEqual(expected);
  });

  test('regexes are anchored, as in Alertmanager', () => {
    expect(matches(parseMatcher('severity=~"S1|S2"'), { severity: 'S2' })).toBe(true);
    expect(matches(parseMatcher('severity=~"S1|S2"'), { severity: 'S22' })).toBe(false);
    expect(matches(parseMatcher('route!~"core|risk"'), { route: 'core-v2' })).toBe(true);
  });

  test('a missing label reads as the empty string', () => {
    expect(matches(parseMatcher('tenant=""'), {})).toBe(true);
    expect(matches(parseMatcher('tenant!=""'), {})).toBe(false);
    expect(matches(parseMatcher('tenant!="acme"'), {})).toBe(true);
  });

  test('matchesAll needs every matcher', () => {
    const matchers = ['alertname="A"', 'severity="S2"'].map(parseMatcher);
    expect(matchesAll(matchers, { alertname: 'A', severity: 'S2' })).toBe(true);
    expect(matchesAll(matchers, { alertname: 'A', severity: 'S1' })).toBe(false);
  });

  test.each([
    ['alertname', /is not a label matcher; write name="value"/],
    ['9name="x"', /is not a label matcher/],
    ['alertname=="x"', /is not a label matcher/],
    ['route=~"(unclosed"', /invalid regular expression/],
  ])('refuses %s with what a matcher looks like', (text, message) => {
    expect(() => parseMatcher(text)).toThrow(message);
  });
});

describe('targets', () => {
  test('a route target is the route, narrowed to the tenant when the alert has one', () => {
    expect(targetOf('route', { route: 'chat', tenant: 'acme', model: 'm' })).toEqual({
      ok: true,
      target: { kind: 'route', key: 'route=chat,tenant=acme', labels: { route: 'chat', tenant: 'acme' } },
    });
    expect(targetOf('route', { route: 'chat' })).toEqual({
      ok: true,
      target: { kind: 'route', key: 'route=chat', labels: { route: 'chat' } },
    });
  });

  test('names the labels that are missing', () => {
    expect(targetOf('deployment', { namespace: 'inference' })).toEqual({ ok: false, missing: ['deployment'] });
    expect(targetOf('route', { tenant: 'acme', route: '' })).toEqual({ ok: false, missing: ['route'] });
  });
});

describe('alert tracker', () => {
  const firing = (fingerprint: string, startsAt = '2026-11-28T10:00:00Z'): AlertNotification => ({
    fingerprint,
    status: 'firing',
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
  });
  const resolution = (n: AlertNotification): AlertNotification => ({
    ...n,
    status: 'resolved',
    endsAt: '2026-11-28T10:30:00Z',
  });

  test('an episode fires, repeats, and resolves', () => {
    const alerts: TrackedAlerts = {};
    expect(recordNotification(alerts, firing('a'))).toBe('fired');
    expect(recordNotification(alerts, firing('a'))).toBe('repeated');
    expect(isFiring(alerts)).toBe(true);
    expect(recordNotification(alerts, resolution(firing('a')))).toBe('resolved');
    expect(recordNotification(alerts, resolution(firing('a')))).toBe('repeated');
    expect(isFiring(alerts)).toBe(false);
  });

  test('a late copy of a resolved episode (an HA peer) is stale and does not re-fire', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('a'));
    recordNotification(alerts, resolution(firing('a')));
    expect(recordNotification(alerts, firing('a'))).toBe('stale');
    expect(isFiring(alerts)).toBe(false);
  });

  test('a new episode (later startsAt) fires again; a notification about an older one is stale', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('a'));
    recordNotification(alerts, resolution(firing('a')));
    expect(recordNotification(alerts, firing('a', '2026-11-28T11:00:00Z'))).toBe('fired');
    expect(recordNotification(alerts, resolution(firing('a')))).toBe('stale');
    expect(isFiring(alerts)).toBe(true);
  });

  test('timestamps are compared as instants, whatever their precision', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('a', '2026-11-28T10:00:00Z'));
    expect(recordNotification(alerts, firing('a', '2026-11-28T10:00:00.000000000Z'))).toBe('repeated');
  });

  test('a target fires while any of its alerts fires', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('a'));
    recordNotification(alerts, firing('b'));
    recordNotification(alerts, resolution(firing('a')));
    expect(isFiring(alerts)).toBe(true);
    recordNotification(alerts, resolution(firing('b')));
    expect(isFiring(alerts)).toBe(false);
  });
});

describe('webhook payload', () => {
  test('accepts what Alertmanager sends: nanosecond timestamps and the zero endsAt of firing alerts', () => {
    const parsed = webhookPayloadSchema.safeParse(JSON.parse(JSON.stringify(payload([alert({ route: 'chat' })]))));
    expect(parsed.success).toBe(true);
    expect(parsed.data?.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
  });

  test('defaults what older senders leave out', () => {
    const body = payload([alert({ route: 'chat' })]) as unknown as Record<string, unknown>;
    delete body.truncatedAlerts;
    const firstAlert = (body.alerts as Array<Record<string, unknown>>)[0]!;
    delete firstAlert.annotations;
    delete firstAlert.generatorURL;
    const parsed = webhookPayloadSchema.parse(body);
    expect(parsed.truncatedAlerts).toBe(0);
    expect(parsed.alerts[0]).toMatchObject({ annotations: {}, generatorURL: '' });
  });

  test.each([
    ['version', '3'],
    ['alerts', []],
    ['status', 'pending'],
    ['groupLabels', undefined],
  ])('refuses a payload whose %s is %j', (field, value) => {
    expect(webhookPayloadSchema.safeParse({ ...payload([alert({ route: 'chat' })]), [field]: value }).success).toBe(
      false,
    );
  });

  test('refuses an alert without a fingerprint', () => {
    expect(webhookPayloadSchema.safeParse(payload([alert({ route: 'chat' }, { fingerprint: '' })])).success).toBe(
      false,
    );
  });
});

describe('routing', () => {
  const playbook = (yaml: string): Playbook => {
    const { playbook: loaded, problems } = parsePlaybook('test.yaml', yaml);
    if (!loaded) throw new Error(problems.join('\n'));
    return loaded;
  };
  const capContext = playbook(`
name: cap-context
description: d
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh", severity=~"S1|S2"]
target: route
cooldown: 10m
steps:
  - { id: cap, action: gateway.setRoutePolicy, params: { policy: { maxInputTokens: 8192 } } }
`);
  const cacheHarder = playbook(`
name: cache-harder
description: d
severity: S2
match: [alertname="LLMInputTokensPerRequestHigh"]
target: route
steps:
  - { id: cache, action: gateway.setRoutePolicy, params: { policy: { cacheMode: aggressive } } }
`);

  test('an alert runs every playbook it matches, each keyed by playbook and target', () => {
    const decisions = routeAlerts([alert({ route: 'chat', tenant: 'acme' })], [capContext, cacheHarder], {
      cooldownMs: 60_000,
    });
    expect(decisions.map((d) => d.outcome === 'routed' && [d.workflowId, d.plan.cooldownMs])).toEqual([
      ['playbook/cap-context/route=chat,tenant=acme', 600_000],
      ['playbook/cache-harder/route=chat,tenant=acme', 60_000],
    ]);
  });

  test('the same target gives the same id whatever the other labels', () => {
    const [a] = routeAlerts([alert({ route: 'chat', tenant: 'acme', model: 'x' })], [capContext], { cooldownMs: 0 });
    const [b] = routeAlerts([alert({ route: 'chat', tenant: 'acme', model: 'y' })], [capContext], { cooldownMs: 0 });
    expect(a?.outcome === 'routed' && a.workflowId).toBe(b?.outcome === 'routed' && b.workflowId);
  });

  test('unmatched alerts are unrouted; alerts without the target labels are rejected with the reason', () => {
    const other = alert({ route: 'chat' }, { labels: { alertname: 'Other', route: 'chat' } });
    const noRoute = alert({}, { labels: { alertname: 'LLMInputTokensPerRequestHigh', severity: 'S2' } });
    expect(routeAlerts([other, noRoute], [capContext], { cooldownMs: 0 })).toEqual([
      { outcome: 'unrouted', alert: other },
      {
        outcome: 'rejected',
        alert: noRoute,
        playbook: 'cap-context',
        reason: 'a route target needs the label(s) route',
      },
    ]);
  });

  test('resolved alerts route like firing ones, so the resolution reaches the run', () => {
    const [decision] = routeAlerts([resolved(alert({ route: 'chat', tenant: 'acme' }))], [capContext], {
      cooldownMs: 0,
    });
    expect(decision?.outcome === 'routed' && decision.workflowId).toBe('playbook/cap-context/route=chat,tenant=acme');
  });
});
