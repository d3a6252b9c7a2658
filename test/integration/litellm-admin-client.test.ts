// The LiteLLM admin client (gateway/litellm/litellm-admin-client.ts) through its real HTTP code against a local
// server that speaks LiteLLM's admin API as its source defines it (test/helpers/litellm-proxy-server.ts): the exact
// requests, and each of LiteLLM's error shapes turned into a GatewayError that says what failed and whether a retry
// can help.
import { LiteLlmAdminClient, liteLlmErrorMessage } from '../../gateway/litellm/litellm-admin-client';
import { LITELLM_MASTER_KEY, LiteLlmProxyServer } from '../helpers/litellm-proxy-server';
import { gatewayFailure as failure } from '../helpers/gateway-failure';

let proxy: LiteLlmProxyServer;
let client: LiteLlmAdminClient;

const TEAM = {
  team_id: 'acme',
  models: ['chat', 'chat-distilled'],
  tpm_limit: null,
  rpm_limit: 600,
  max_budget: 1000,
  budget_duration: '30d',
  blocked: false,
  metadata: { owner: 'finops' },
};

beforeAll(async () => {
  proxy = await LiteLlmProxyServer.start();
  client = new LiteLlmAdminClient({ baseUrl: `${proxy.url}/`, masterKey: LITELLM_MASTER_KEY, timeoutMs: 2_000 });
});
afterAll(() => proxy?.close());
beforeEach(() => {
  proxy.requests.length = 0;
  proxy.teams.clear();
  proxy.teams.set('acme', structuredClone(TEAM));
  proxy.deployments.length = 0;
  proxy.deployments.push(
    {
      model_name: 'chat',
      litellm_params: { model: 'openai/gpt-4o', weight: 3 },
      model_info: { id: 'chat-us', db_model: true },
    },
    {
      model_name: 'chat',
      litellm_params: { model: 'azure/gpt-4o', weight: 1 },
      model_info: { id: 'chat-eu', db_model: true },
    },
    {
      model_name: 'chat-distilled',
      litellm_params: { model: 'openai/gpt-4o-mini' },
      model_info: { id: 'mini', db_model: false },
    },
  );
  proxy.fallbacks.clear();
});

test('a team is read from team_info, and an update sends exactly the fields it changes with the master key', async () => {
  expect(await client.teamInfo('acme')).toEqual({ ...TEAM, litellm_model_table: null });
  const update = { rpm_limit: 120, metadata: { owner: 'finops', model_rpm_limit: { chat: 60 } }, max_budget: null };
  const updated = await client.updateTeam('acme', update);
  expect(updated).toMatchObject({
    rpm_limit: 120,
    max_budget: null,
    metadata: { owner: 'finops', model_rpm_limit: { chat: 60 } },
  });
  expect(proxy.requests).toEqual([
    { method: 'GET', url: '/team/info?team_id=acme', authorization: `Bearer ${LITELLM_MASTER_KEY}`, body: null },
    {
      method: 'POST',
      url: '/team/update',
      authorization: `Bearer ${LITELLM_MASTER_KEY}`,
      body: { team_id: 'acme', ...update },
    },
  ]);
});

test("a model group's deployments come from /model/info, and a deployment is patched by its id", async () => {
  expect((await client.deploymentsOf('chat')).map(({ model_info }) => model_info.id)).toEqual(['chat-us', 'chat-eu']);
  await client.patchDeployment('chat-us', { litellm_params: { weight: 1 }, model_info: { max_input_tokens: 8192 } });
  expect(proxy.deployments[0]).toMatchObject({ litellm_params: { weight: 1 }, model_info: { max_input_tokens: 8192 } });
  expect(proxy.requests.map(({ method, url, body }) => [method, url, body])).toEqual([
    ['GET', '/model/info', null],
    ['PATCH', '/model/chat-us/update', { litellm_params: { weight: 1 }, model_info: { max_input_tokens: 8192 } }],
  ]);
});

test('fallbacks: none configured is null, then set and deleted', async () => {
  expect(await client.fallback('chat')).toBeNull();
  await client.setFallback('chat', ['chat-distilled']);
  expect(await client.fallback('chat')).toEqual({
    model: 'chat',
    fallback_models: ['chat-distilled'],
    fallback_type: 'general',
  });
  await client.deleteFallback('chat');
  expect(await client.fallback('chat')).toBeNull();
  expect(proxy.requests.map(({ method, url, body }) => [method, url, body])).toEqual([
    ['GET', '/fallback/chat', null],
    ['POST', '/fallback', { model: 'chat', fallback_models: ['chat-distilled'], fallback_type: 'general' }],
    ['GET', '/fallback/chat', null],
    ['DELETE', '/fallback/chat', null],
    ['GET', '/fallback/chat', null],
  ]);
});

test("LiteLLM's error shapes become GatewayErrors naming the call, the status and LiteLLM's message", async () => {
  // ProxyException {"error": {...}}: an unknown team on /team/info.
  const unknownTeam = await failure(client.teamInfo('globex'));
  expect(unknownTeam).toMatchObject({
    status: 404,
    retryable: false,
    message: 'LiteLLM GET /team/info for team globex answered 404: Team not found, passed team id: globex.',
  });
  // FastAPI {"detail": {"error": ...}}: an unknown team on /team/update.
  expect(await failure(client.updateTeam('globex', { rpm_limit: 1 }))).toMatchObject({
    status: 404,
    message: 'LiteLLM POST /team/update for team globex answered 404: Team not found, passed team_id=globex',
  });
  // A model from the config file cannot be changed at runtime.
  expect(await failure(client.patchDeployment('mini', { litellm_params: { weight: 2 } }))).toMatchObject({
    status: 400,
    retryable: false,
    message: expect.stringContaining('Cannot edit config-based model') as unknown,
  });
  // A fallback for a model the router does not know is an error, not "none configured".
  expect(await failure(client.setFallback('nope', ['chat']))).toMatchObject({ status: 404 });
  // 422 {"detail": [pydantic errors]}.
  expect(liteLlmErrorMessage({ detail: [{ loc: ['body', 'team_id'], msg: 'Field required' }] })).toBe(
    'body.team_id: Field required',
  );
  // A wrong key.
  const unauthorised = new LiteLlmAdminClient({ baseUrl: proxy.url, masterKey: 'sk-wrong', timeoutMs: 2_000 });
  expect(await failure(unauthorised.teamInfo('acme'))).toMatchObject({ status: 401, retryable: false });
});

test('a 5xx, a 429 and an unreachable proxy are retryable; nothing changed', async () => {
  proxy.failNext(500, 503, 429);
  for (const status of [500, 503, 429])
    expect(await failure(client.updateTeam('acme', { rpm_limit: 1 }))).toMatchObject({ status, retryable: true });
  expect(proxy.teams.get('acme')?.rpm_limit).toBe(600);
  const closed = await LiteLlmProxyServer.start();
  await closed.close();
  const gone = new LiteLlmAdminClient({ baseUrl: closed.url, masterKey: LITELLM_MASTER_KEY, timeoutMs: 500 });
  expect(await failure(gone.teamInfo('acme'))).toMatchObject({
    retryable: true,
    message: expect.stringMatching(/^LiteLLM GET \/team\/info for team acme failed: ECONNREFUSED/) as unknown,
  });
});
