import type { TargetKindName } from '../../alerts/target';
import { TARGET_KIND_NAMES, TARGET_KINDS, targetOf } from '../../alerts/target';

const alertLabels = {
  alertname: 'LLMSpendBurnRateHigh',
  severity: 'S2',
  route: 'chat',
  tenant: 'acme',
  namespace: 'inference',
  deployment: 'vllm-chat',
  bucket: 'llm-logs',
};

describe('target kinds', () => {
  test('the kinds a playbook may act on', () => {
    expect([...TARGET_KIND_NAMES].sort()).toEqual(['bucket', 'deployment', 'route', 'tenant']);
    expect(TARGET_KINDS.deployment.required).toEqual(['namespace', 'deployment']);
  });
});

describe('targetOf: a route', () => {
  test('with a tenant: the tenant narrows the target and joins the key', () => {
    expect(targetOf('route', { alertname: 'X', route: 'chat', tenant: 'acme' })).toEqual({
      ok: true,
      target: { kind: 'route', key: 'route=chat,tenant=acme', labels: { route: 'chat', tenant: 'acme' } },
    });
  });

  test('without a tenant: the whole route', () => {
    expect(targetOf('route', { alertname: 'X', route: 'chat' })).toEqual({
      ok: true,
      target: { kind: 'route', key: 'route=chat', labels: { route: 'chat' } },
    });
  });

  test('an empty tenant label is the same as none', () => {
    expect(targetOf('route', { route: 'chat', tenant: '' })).toEqual({
      ok: true,
      target: { kind: 'route', key: 'route=chat', labels: { route: 'chat' } },
    });
  });

  test('without a route label it names what is missing', () => {
    expect(targetOf('route', { alertname: 'X', tenant: 'acme' })).toEqual({ ok: false, missing: ['route'] });
  });

  test('an empty required label counts as missing', () => {
    expect(targetOf('route', { route: '' })).toEqual({ ok: false, missing: ['route'] });
  });
});

describe('targetOf: other kinds', () => {
  test('a tenant ignores the route label', () => {
    expect(targetOf('tenant', alertLabels)).toEqual({
      ok: true,
      target: { kind: 'tenant', key: 'tenant=acme', labels: { tenant: 'acme' } },
    });
  });

  test('a deployment needs namespace and deployment, keyed in that order', () => {
    const result = targetOf('deployment', { deployment: 'vllm-chat', namespace: 'inference', pod: 'vllm-chat-0' });
    expect(result).toEqual({
      ok: true,
      target: {
        kind: 'deployment',
        key: 'namespace=inference,deployment=vllm-chat',
        labels: { namespace: 'inference', deployment: 'vllm-chat' },
      },
    });
  });

  test('a deployment missing both labels names both', () => {
    expect(targetOf('deployment', { alertname: 'X' })).toEqual({ ok: false, missing: ['namespace', 'deployment'] });
    expect(targetOf('deployment', { deployment: 'vllm-chat' })).toEqual({ ok: false, missing: ['namespace'] });
  });

  test('a bucket', () => {
    expect(targetOf('bucket', alertLabels)).toEqual({
      ok: true,
      target: { kind: 'bucket', key: 'bucket=llm-logs', labels: { bucket: 'llm-logs' } },
    });
    expect(targetOf('bucket', {})).toEqual({ ok: false, missing: ['bucket'] });
  });
});

describe('target keys', () => {
  test('the key does not depend on the order of the alert labels', () => {
    const a = targetOf('route', { tenant: 'acme', alertname: 'X', route: 'chat' });
    const b = targetOf('route', { route: 'chat', alertname: 'Y', tenant: 'acme', severity: 'S1' });
    expect(a.ok && b.ok && a.target.key === b.target.key).toBe(true);
  });

  test.each<[TargetKindName, Record<string, string>, Record<string, string>]>([
    ['route', { route: 'chat' }, { route: 'chat', tenant: 'acme' }],
    ['route', { route: 'chat', tenant: 'acme' }, { route: 'chat', tenant: 'globex' }],
    ['deployment', { namespace: 'a', deployment: 'b' }, { namespace: 'b', deployment: 'a' }],
    // Label values may contain the key's separators; two different targets must not share a run.
    ['route', { route: 'chat,tenant=acme' }, { route: 'chat', tenant: 'acme' }],
    ['deployment', { namespace: 'a,deployment=b', deployment: 'c' }, { namespace: 'a', deployment: 'b,deployment=c' }],
  ])('different %s targets get different keys: %j vs %j', (kind, first, second) => {
    const a = targetOf(kind, first);
    const b = targetOf(kind, second);
    if (!a.ok || !b.ok) throw new Error('expected both targets to resolve');
    expect(a.target.key).not.toBe(b.target.key);
  });

  test("the key's separators inside a value are percent-encoded; the labels keep the raw value", () => {
    const result = targetOf('route', { route: 'chat,tenant=acme', tenant: '100%' });
    expect(result).toEqual({
      ok: true,
      target: {
        kind: 'route',
        key: 'route=chat%2Ctenant%3Dacme,tenant=100%25',
        labels: { route: 'chat,tenant=acme', tenant: '100%' },
      },
    });
  });

  test('other characters stay readable in the key', () => {
    const result = targetOf('deployment', { namespace: 'ml-prod', deployment: 'vllm/llama 3.1:8b' });
    expect(result.ok && result.target.key).toBe('namespace=ml-prod,deployment=vllm/llama 3.1:8b');
  });

  test('the target labels are a copy: changing them does not change the alert', () => {
    const labels = { route: 'chat', tenant: 'acme' };
    const result = targetOf('route', labels);
    if (!result.ok) throw new Error('expected a target');
    result.target.labels.route = 'other';
    expect(labels.route).toBe('chat');
  });
});
