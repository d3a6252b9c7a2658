import type { PolicyStoreError } from '../../simulator/policy-store';
import { PolicyStore } from '../../simulator/policy-store';

const errorOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error as PolicyStoreError;
  }
  throw new Error('expected an error');
};

test('a tenant override layers over the route policy and answers the values it replaced', () => {
  const store = new PolicyStore();
  const { change } = store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 8192, cacheMode: 'aggressive' });
  expect(change.previous).toEqual({ maxInputTokens: null, cacheMode: null });
  expect(change.policy).toEqual({ maxInputTokens: 8192, cacheMode: 'aggressive' });
  expect(change.effective).toMatchObject({ maxInputTokens: 8192, cacheMode: 'aggressive', modelTier: 'premium' });
  expect(store.get({ route: 'chat' }).effective.maxInputTokens).toBe(32_768);
  expect(store.get({ route: 'chat', tenant: 'globex' }).effective.maxInputTokens).toBe(32_768);
});

test('null removes a tenant override (the undo of setting it)', () => {
  const store = new PolicyStore();
  store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 8192 });
  const { change } = store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: null });
  expect(change.previous).toEqual({ maxInputTokens: 8192 });
  expect(store.get({ route: 'chat', tenant: 'acme' }).policy).toEqual({});
});

test('a route patch answers the current values as previous', () => {
  const store = new PolicyStore();
  expect(store.patch({ route: 'summarize' }, { maxInputTokens: 4096 }).change.previous).toEqual({ maxInputTokens: 65_536 });
});

test('the same idempotency key answers the first result again and changes nothing', () => {
  const store = new PolicyStore();
  const first = store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 8192 }, { idempotencyKey: 'k1' });
  const again = store.patch({ route: 'chat', tenant: 'acme' }, { maxInputTokens: 8192 }, { idempotencyKey: 'k1' });
  expect(first.replayed).toBe(false);
  expect(again).toEqual({ change: first.change, replayed: true });
  expect(again.change.previous).toEqual({ maxInputTokens: null });
  expect(store.changes).toHaveLength(1);
});

test('an idempotency key reused for a different request is refused', () => {
  const store = new PolicyStore();
  store.patch({ route: 'chat' }, { maxInputTokens: 8192 }, { idempotencyKey: 'k1' });
  const error = errorOf(() => store.patch({ route: 'chat' }, { maxInputTokens: 4096 }, { idempotencyKey: 'k1' }));
  expect(error).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
  expect(store.changes).toHaveLength(1);
});

test('If-Match guards against lost updates', () => {
  const store = new PolicyStore();
  const { revision } = store.get({ route: 'chat' });
  store.patch({ route: 'chat' }, { priority: 7 }, { ifMatch: revision });
  expect(errorOf(() => store.patch({ route: 'chat' }, { priority: 3 }, { ifMatch: revision }))).toMatchObject({ status: 412, code: 'revision_mismatch' });
});

test('an unknown route is a 404 that lists the known ones', () => {
  const error = errorOf(() => new PolicyStore().get({ route: 'nope' }));
  expect(error).toMatchObject({ status: 404, code: 'route_not_found' });
  expect(error.message).toMatch(/^route nope does not exist; known routes: chat, summarize/);
});

test('a patch that leaves the route policy invalid is refused and changes nothing', () => {
  const store = new PolicyStore();
  expect(errorOf(() => store.patch({ route: 'chat' }, { cacheMode: null }))).toMatchObject({ status: 422, code: 'invalid_policy' });
  expect(store.get({ route: 'chat' }).effective.cacheMode).toBe('standard');
  expect(store.changes).toHaveLength(0);
});
