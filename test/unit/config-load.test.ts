// loadConfig (config/config-load.ts, validated by the schema in config/config-schema.ts): the defaults, the YAML
// file, environment overrides, secrets read from files and their precedence, and error messages that
// name the source, the field and the fix without ever showing a secret.
import { alertRulesSchema } from '../../alert-rules/alert-rules-schema';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ENV_OVERRIDES, loadConfig } from '../../config/config-load';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes `finops-soar.yaml` (and any extra files beside it) into a fresh temp folder. */
function configDir(yaml: string, extraFiles: Record<string, string> = {}): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'finops-soar-config-test-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
  const file = join(dir, 'finops-soar.yaml');
  writeFileSync(file, yaml);
  return { dir, file };
}
const configFile = (yaml: string, extraFiles: Record<string, string> = {}) => configDir(yaml, extraFiles).file;

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).name).toBe('ConfigError');
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const TOKEN = 'tok-0123456789abcdef-SECRET';
const PASSWORD = 'pw-0123456789abcdef-SECRET';
const API_KEY = 'apikey-0123456789-SECRET';

describe('defaults', () => {
  test('an empty file gives the embedded stack on loopback with safe defaults', () => {
    const config = loadConfig({ file: configFile(''), env: {} });
    expect(config).toEqual({
      dataDir: '.data',
      temporal: {
        namespace: 'default',
        taskQueue: 'finops-soar',
        embedded: { cliPath: 'temporal', host: '127.0.0.1', port: 7233, uiPort: 8233 },
      },
      ingress: {
        host: '127.0.0.1',
        port: 8088,
        maxInFlight: 64,
        temporalTimeout: 5_000,
        repeatWindow: 60_000,
        rateLimits: { webhook: 100, runs: 20, slack: 20, probes: 20 },
      },
      gateway: {
        kind: 'control-api',
        litellm: { tiers: { premium: '{route}', standard: '{route}-standard', distilled: '{route}-distilled' } },
        url: 'http://127.0.0.1:8090',
        timeout: 5_000,
      },
      kubernetes: { timeout: 10_000 },
      prometheus: { url: 'http://127.0.0.1:9090', timeout: 10_000 },
      approvals: { approvers: {}, operatorTokens: {} },
      alerts: {
        series: {
          cost: 'inference_cost_usd_total',
          inputTokens: 'llm_tokens_total{type="input"}',
          tokens: 'llm_tokens_total',
          requests: 'http_requests_total{code="200"}',
          tokensPerRequestBaseline: 'llm_tokens_baseline',
          cacheHitRatio: 'llm_cache_hit_ratio',
          gpuUtilization: 'gpu_utilization',
          queueDepth: 'inference_queue_depth',
        },
        // The seed's thresholds (DESIGN.md "The seed's alerts").
        spendBurnRate: { S2: { above: 2, for: '30m' }, S1: { above: 4, for: '15m' } },
        inputTokensPerRequest: { S2: { above: 1.5, for: '15m' } },
        gpuSaturation: {
          S2: { utilization: 0.9, window: '10m', queueGrowthPerMinute: 0.5, for: '5m' },
          S1: { utilization: 0.9, window: '30m', queueGrowthPerMinute: 0.5, for: '5m' },
        },
        cacheHitRatio: {
          drop: { belowShareOfUsual: 0.5, minPoints: 0.05, for: '15m' },
          savingsOpportunity: { below: 0.3, for: '5m' },
          minRequestsPerSecond: 0.2,
        },
        overrides: [],
      },
      finops: {
        budgets: {},
        gpuHourlyUsd: 2.5,
        headroom: 0.1,
        watch: { every: 900_000, notify: ['finops'] },
        capa: { families: ['cost'], notify: ['finops'], remindEvery: 86_400_000 },
      },
      storage: { s3: { region: 'us-east-1', forcePathStyle: false } },
      simulator: { host: '127.0.0.1', port: 8090, kubernetesPort: 8091, s3Port: 8092, seed: 1 },
      playbooks: { dir: 'playbooks' },
      engine: {
        cooldown: 300_000,
        dryRun: false,
        protectedRoutes: ['core', 'risk', 'fraud'],
        sensitiveRoutes: [],
        staleAlertAfter: 15_300_000,
        protectedTenants: [],
        maxConcurrentRuns: 50,
        maxActionsPerTargetPerHour: 20,
        flapMemory: { within: 7_200_000, factor: 2, maxFactor: 8 },
        limitShards: 4,
      },
      log: { level: 'info', format: 'auto' },
      metrics: { host: '127.0.0.1', port: 9464 },
      policy: { timeout: 2000 },
      worker: {
        maxCachedWorkflows: 2_000,
        workflowTaskSlots: 40,
        activityTaskSlots: 200,
        localActivitySlots: 100,
        workflowTaskPollers: 10,
        activityTaskPollers: 20,
      },
    });
    expect(config.temporal.address).toBeUndefined();
    expect(config.ingress.token).toBeUndefined();
    expect(config.ingress.basicAuth).toBeUndefined();
  });

  test('a file with only comments is the same as an empty one', () => {
    expect(loadConfig({ file: configFile('# nothing yet\n'), env: {} })).toEqual(
      loadConfig({ file: configFile(''), env: {} }),
    );
  });

  test('empty sections take their defaults', () => {
    const config = loadConfig({ file: configFile('temporal: {}\ningress: {}\nengine: {}\n'), env: {} });
    expect(config.ingress.port).toBe(8088);
    expect(config.engine.cooldown).toBe(300_000);
  });

  test("the repository's finops-soar.yaml is valid", () => {
    const config = loadConfig({ file: join(__dirname, '..', '..', 'finops-soar.yaml'), env: {} });
    expect(config.ingress.port).toBeGreaterThan(0);
    expect(config.playbooks.dir).toBe('playbooks');
  });
});

describe('the YAML file', () => {
  test('values from the file, with durations in ms and lists kept', () => {
    const file = configFile(`temporal:
  address: temporal.prod:7233
  namespace: finops
ingress:
  port: 9000
  temporalTimeout: 2s
engine:
  cooldown: 1h30m
  dryRun: true
  protectedRoutes: [core, payments]
log:
  level: debug
`);
    const config = loadConfig({ file, env: {} });
    expect(config.temporal).toMatchObject({ address: 'temporal.prod:7233', namespace: 'finops' });
    expect(config.ingress).toMatchObject({ port: 9000, temporalTimeout: 2_000 });
    expect(config.engine).toMatchObject({ cooldown: 5_400_000, dryRun: true, protectedRoutes: ['core', 'payments'] });
    expect(config.log.level).toBe('debug');
  });

  test('FINOPS_SOAR_CONFIG names the file when no file is given', () => {
    const file = configFile('ingress:\n  port: 9111\n');
    expect(loadConfig({ env: { FINOPS_SOAR_CONFIG: file } }).ingress.port).toBe(9111);
  });

  test('an explicit file wins over FINOPS_SOAR_CONFIG', () => {
    const explicit = configFile('ingress:\n  port: 9222\n');
    const fromEnv = configFile('ingress:\n  port: 9333\n');
    expect(loadConfig({ file: explicit, env: { FINOPS_SOAR_CONFIG: fromEnv } }).ingress.port).toBe(9222);
  });

  test('a missing file named on the command line is an error that names it and where it came from', () => {
    const missing = join(configDir('').dir, 'nope.yaml');
    expect(errorOf(() => loadConfig({ file: missing, env: {} }))).toBe(
      `config file ${missing} does not exist (from the command line). Fix the path, or unset it to use defaults.`,
    );
  });

  test('a missing file named by FINOPS_SOAR_CONFIG is an error that names the variable', () => {
    const missing = join(configDir('').dir, 'nope.yaml');
    expect(errorOf(() => loadConfig({ env: { FINOPS_SOAR_CONFIG: missing } }))).toBe(
      `config file ${missing} does not exist (from FINOPS_SOAR_CONFIG). Fix the path, or unset it to use defaults.`,
    );
  });

  test('invalid YAML names the file and the position', () => {
    const file = configFile('ingress:\n  port: [9000\n');
    const message = errorOf(() => loadConfig({ file, env: {} }));
    expect(message.startsWith(`${file}: invalid YAML:\n`)).toBe(true);
    expect(message).toMatch(/line \d+, column \d+/);
  });

  test('a top level that is not a mapping is refused', () => {
    for (const yaml of ['- temporal\n- ingress\n', 'just text\n', '42\n']) {
      const file = configFile(yaml);
      expect(errorOf(() => loadConfig({ file, env: {} }))).toBe(
        `${file}: the top level must be a mapping of sections (temporal, ingress, …)`,
      );
    }
  });

  test.each([
    [
      'ingress:\n  port: 0\n',
      'ingress.port: Too small: expected number to be >=1. Expected: a TCP port (1-65535) for the webhook server',
    ],
    [
      'ingress:\n  port: 70000\n',
      'ingress.port: Too big: expected number to be <=65535. Expected: a TCP port (1-65535) for the webhook server',
    ],
    [
      'ingress:\n  port: http\n',
      'ingress.port: Invalid input: expected number, received NaN. Expected: a TCP port (1-65535) for the webhook server',
    ],
    ['ingress:\n  prot: 9000\n', 'ingress: Unrecognized key: "prot"'],
    ['ingres:\n  port: 9000\n', '(top level): Unrecognized key: "ingres"'],
    [
      'ingress:\n  alertmanagerUrl: [http://alertmanager-0:9093, alertmanager-1]\n',
      'ingress.alertmanagerUrl[1]: Invalid URL',
    ],
    [
      'engine:\n  cooldown: soon\n',
      'engine.cooldown: "soon" is not a duration. Expected: how long an alert must stay resolved before its changes are rolled back, e.g. 5m (a playbook may set its own)',
    ],
    ['log:\n  level: verbose\n', 'log.level: Invalid option. Expected: one of fatal, error, warn, info, debug, trace'],
    [
      'gateway:\n  url: not a url\n',
      "gateway.url: Invalid URL. Expected: the gateway's admin base URL, e.g. http://gateway-admin:8090, http://litellm:4000 or http://kong:8001",
    ],
    [
      'temporal:\n  address: localhost\n',
      'temporal.address: Invalid string: must match pattern /^[^:\\s]+:\\d+$/. Expected: host:port of an existing Temporal frontend (e.g. my-ns.abc12.tmprl.cloud:7233); leave unset to run the embedded dev server',
    ],
    [
      'temporal:\n  tls:\n    clientCertPath: /etc/tls/client.pem\n',
      'temporal.tls: clientCertPath and clientKeyPath go together: set both for mTLS, or neither',
    ],
    [
      'engine:\n  maxConcurrentRuns: 0\n',
      'engine.maxConcurrentRuns: Too small: expected number to be >=1. Expected: how many playbook runs may be active at once; a run beyond it waits its turn, visibly, and is admitted when a slot frees',
    ],
  ])('a bad value in the file is reported with the file, the field and what is expected: %j', (yaml, line) => {
    const file = configFile(yaml);
    expect(errorOf(() => loadConfig({ file, env: {} }))).toBe(`invalid configuration:\n  ${file}: ${line}`);
  });

  test('several problems are listed together, one a line', () => {
    const file = configFile('ingress:\n  port: 0\nlog:\n  level: loud\n');
    const lines = errorOf(() => loadConfig({ file, env: {} })).split('\n');
    expect(lines[0]).toBe('invalid configuration:');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}.*finops-soar\.yaml: ingress\.port: /),
      expect.stringMatching(/^ {2}.*finops-soar\.yaml: log\.level: /),
    ]);
  });
});

describe('environment overrides', () => {
  test('TEMPORAL_ADDRESS and FINOPS_SOAR_INGRESS_PORT override the file; text becomes numbers', () => {
    const file = configFile('temporal:\n  address: from-file:7233\n  namespace: from-file\ningress:\n  port: 9000\n');
    const config = loadConfig({
      file,
      env: { TEMPORAL_ADDRESS: 'temporal.prod:7233', FINOPS_SOAR_INGRESS_PORT: '9100' },
    });
    expect(config.temporal.address).toBe('temporal.prod:7233');
    expect(config.temporal.namespace).toBe('from-file');
    expect(config.ingress.port).toBe(9100);
  });

  test('every documented variable reaches its field', () => {
    const env = {
      FINOPS_SOAR_DATA_DIR: '/var/lib/finops-soar',
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_API_KEY: API_KEY,
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/tls/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/tls/client.key',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/tls/ca.pem',
      TEMPORAL_TLS_SERVER_NAME: 'ns.acct.tmprl.cloud',
      TEMPORAL_CLI_PATH: '/usr/local/bin/temporal',
      FINOPS_SOAR_TASK_QUEUE: 'finops-q',
      FINOPS_SOAR_INGRESS_HOST: '0.0.0.0',
      FINOPS_SOAR_INGRESS_PORT: '18088',
      FINOPS_SOAR_INGRESS_TOKEN: TOKEN,
      FINOPS_SOAR_INGRESS_USERNAME: 'alertmanager',
      FINOPS_SOAR_INGRESS_PASSWORD: PASSWORD,
      FINOPS_SOAR_ALERTMANAGER_URL: 'http://alertmanager-0:9093, http://alertmanager-1:9093',
      FINOPS_SOAR_GATEWAY_KIND: 'litellm',
      FINOPS_SOAR_GATEWAY_URL: 'http://gateway-admin:8090',
      FINOPS_SOAR_GATEWAY_TOKEN: 'gw-token',
      FINOPS_SOAR_SIMULATOR_HOST: '0.0.0.0',
      FINOPS_SOAR_SIMULATOR_PORT: '18090',
      FINOPS_SOAR_SIMULATOR_KUBERNETES_PORT: '18091',
      FINOPS_SOAR_SIMULATOR_S3_PORT: '18092',
      FINOPS_SOAR_SIMULATOR_SEED: '42',
      FINOPS_SOAR_KUBECONFIG: '/etc/finops-soar/kubeconfig',
      FINOPS_SOAR_KUBE_CONTEXT: 'prod-gpu',
      FINOPS_SOAR_KUBE_SERVER: 'https://k8s.internal:6443',
      FINOPS_SOAR_KUBE_TOKEN: 'kube-token',
      FINOPS_SOAR_OPA_URL: 'http://opa:8181',
      FINOPS_SOAR_OPA_TOKEN: 'opa-token',
      FINOPS_SOAR_METRICS_HOST: '0.0.0.0',
      FINOPS_SOAR_METRICS_PORT: '9500',
      FINOPS_SOAR_PROMETHEUS_URL: 'http://prometheus:9090',
      FINOPS_SOAR_PROMETHEUS_TOKEN: 'prom-token',
      FINOPS_SOAR_OPERATOR_TOKENS: 'U0ALICE=alice-operator-token-0123, U0BOB=bob-operator-token-01234',
      FINOPS_SOAR_GPU_HOURLY_USD: '3.1',
      FINOPS_SOAR_BUDGET_HEADROOM: '0.2',
      FINOPS_SOAR_S3_REGION: 'eu-west-1',
      FINOPS_SOAR_S3_ENDPOINT: 'http://minio:9000',
      FINOPS_SOAR_S3_FORCE_PATH_STYLE: 'true',
      FINOPS_SOAR_PLAYBOOKS_DIR: '/etc/finops-soar/playbooks',
      FINOPS_SOAR_COOLDOWN: '90s',
      FINOPS_SOAR_DRY_RUN: 'true',
      FINOPS_SOAR_STALE_ALERT_AFTER: '2h',
      FINOPS_SOAR_PROTECTED_ROUTES: 'core, risk ,, payments',
      FINOPS_SOAR_SENSITIVE_ROUTES: 'fraud',
      FINOPS_SOAR_PROTECTED_TENANTS: 'internal',
      FINOPS_SOAR_MAX_CONCURRENT_RUNS: '7',
      FINOPS_SOAR_MAX_ACTIONS_PER_TARGET_PER_HOUR: '3',
      FINOPS_SOAR_LIMIT_SHARDS: '8',
      FINOPS_SOAR_FLAP_MEMORY: '30m',
      FINOPS_SOAR_REPEAT_WINDOW: '30s',
      FINOPS_SOAR_WORKER_MAX_CACHED_WORKFLOWS: '500',
      FINOPS_SOAR_WORKER_WORKFLOW_TASK_SLOTS: '60',
      FINOPS_SOAR_WORKER_ACTIVITY_TASK_SLOTS: '300',
      FINOPS_SOAR_WORKER_LOCAL_ACTIVITY_SLOTS: '50',
      FINOPS_SOAR_WORKER_WORKFLOW_TASK_POLLERS: 'auto',
      FINOPS_SOAR_WORKER_ACTIVITY_TASK_POLLERS: '30',
      FINOPS_SOAR_WORKER_WORKFLOW_BUNDLE: '/app/dist/workflow-bundle.js',
      LOG_LEVEL: 'warn',
    };
    expect(ENV_OVERRIDES.map(([variable]) => variable)).toEqual(expect.arrayContaining(Object.keys(env)));
    const config = loadConfig({ file: configFile(''), env });
    expect(config).toEqual({
      dataDir: '/var/lib/finops-soar',
      temporal: {
        address: 'ns.acct.tmprl.cloud:7233',
        namespace: 'ns.acct',
        taskQueue: 'finops-q',
        apiKey: API_KEY,
        tls: {
          clientCertPath: '/tls/client.pem',
          clientKeyPath: '/tls/client.key',
          serverCaCertPath: '/tls/ca.pem',
          serverName: 'ns.acct.tmprl.cloud',
        },
        embedded: { cliPath: '/usr/local/bin/temporal', host: '127.0.0.1', port: 7233, uiPort: 8233 },
      },
      ingress: {
        host: '0.0.0.0',
        port: 18088,
        token: TOKEN,
        basicAuth: { username: 'alertmanager', password: PASSWORD },
        alertmanagerUrl: ['http://alertmanager-0:9093', 'http://alertmanager-1:9093'],
        maxInFlight: 64,
        temporalTimeout: 5_000,
        repeatWindow: 30_000,
        rateLimits: { webhook: 100, runs: 20, slack: 20, probes: 20 },
      },
      gateway: {
        kind: 'litellm',
        litellm: { tiers: { premium: '{route}', standard: '{route}-standard', distilled: '{route}-distilled' } },
        url: 'http://gateway-admin:8090',
        token: 'gw-token',
        timeout: 5_000,
      },
      kubernetes: {
        kubeconfig: '/etc/finops-soar/kubeconfig',
        context: 'prod-gpu',
        server: 'https://k8s.internal:6443',
        token: 'kube-token',
        timeout: 10_000,
      },
      prometheus: { url: 'http://prometheus:9090', token: 'prom-token', timeout: 10_000 },
      approvals: {
        approvers: {},
        operatorTokens: { U0ALICE: 'alice-operator-token-0123', U0BOB: 'bob-operator-token-01234' },
      },
      alerts: alertRulesSchema.parse({}),
      finops: {
        budgets: {},
        gpuHourlyUsd: 3.1,
        headroom: 0.2,
        watch: { every: 900_000, notify: ['finops'] },
        capa: { families: ['cost'], notify: ['finops'], remindEvery: 86_400_000 },
      },
      storage: { s3: { region: 'eu-west-1', endpoint: 'http://minio:9000', forcePathStyle: true } },
      simulator: { host: '0.0.0.0', port: 18090, kubernetesPort: 18091, s3Port: 18092, seed: 42 },
      playbooks: { dir: '/etc/finops-soar/playbooks' },
      engine: {
        cooldown: 90_000,
        dryRun: true,
        protectedRoutes: ['core', 'risk', 'payments'],
        sensitiveRoutes: ['fraud'],
        protectedTenants: ['internal'],
        staleAlertAfter: 7_200_000,
        maxConcurrentRuns: 7,
        maxActionsPerTargetPerHour: 3,
        flapMemory: { within: 1_800_000, factor: 2, maxFactor: 8 },
        limitShards: 8,
      },
      log: { level: 'warn', format: 'auto' },
      metrics: { host: '0.0.0.0', port: 9500 },
      policy: { opaUrl: 'http://opa:8181', opaToken: 'opa-token', timeout: 2000 },
      worker: {
        maxCachedWorkflows: 500,
        workflowTaskSlots: 60,
        activityTaskSlots: 300,
        localActivitySlots: 50,
        workflowTaskPollers: 'auto',
        activityTaskPollers: 30,
        workflowBundle: '/app/dist/workflow-bundle.js',
      },
    });
  });

  test('an empty variable is ignored', () => {
    const file = configFile('ingress:\n  port: 9000\n');
    expect(loadConfig({ file, env: { FINOPS_SOAR_INGRESS_PORT: '', TEMPORAL_ADDRESS: '' } })).toMatchObject({
      ingress: { port: 9000 },
      temporal: { namespace: 'default' },
    });
  });

  test.each([
    ['true', true],
    ['false', false],
    ['1', true],
    ['0', false],
    ['yes', true],
    ['no', false],
  ])('FINOPS_SOAR_DRY_RUN=%s → %s', (value, expected) => {
    expect(loadConfig({ file: configFile(''), env: { FINOPS_SOAR_DRY_RUN: value } }).engine.dryRun).toBe(expected);
  });

  test.each([
    [
      'FINOPS_SOAR_INGRESS_PORT',
      'abc',
      'ingress.port: Invalid input: expected number, received NaN. Expected: a TCP port (1-65535) for the webhook server',
    ],
    [
      'FINOPS_SOAR_INGRESS_PORT',
      '0',
      'ingress.port: Too small: expected number to be >=1. Expected: a TCP port (1-65535) for the webhook server',
    ],
    [
      'FINOPS_SOAR_INGRESS_PORT',
      '65536',
      'ingress.port: Too big: expected number to be <=65535. Expected: a TCP port (1-65535) for the webhook server',
    ],
    [
      'FINOPS_SOAR_INGRESS_PORT',
      '80.5',
      'ingress.port: Invalid input: expected int, received number. Expected: a TCP port (1-65535) for the webhook server',
    ],
    [
      'FINOPS_SOAR_SIMULATOR_PORT',
      '-1',
      "simulator.port: Too small: expected number to be >=1. Expected: a TCP port (1-65535) for the simulator's gateway Control API, chat completions and /metrics",
    ],
    [
      'TEMPORAL_ADDRESS',
      'localhost',
      'temporal.address: Invalid string: must match pattern /^[^:\\s]+:\\d+$/. Expected: host:port of an existing Temporal frontend (e.g. my-ns.abc12.tmprl.cloud:7233); leave unset to run the embedded dev server',
    ],
    [
      'FINOPS_SOAR_COOLDOWN',
      '5 minutes',
      'engine.cooldown: "5 minutes" is not a duration. Expected: how long an alert must stay resolved before its changes are rolled back, e.g. 5m (a playbook may set its own)',
    ],
    [
      'FINOPS_SOAR_DRY_RUN',
      'maybe',
      'engine.dryRun: Invalid input. Expected: true: every run records what it would change and changes nothing',
    ],
    ['LOG_LEVEL', 'loud', 'log.level: Invalid option. Expected: one of fatal, error, warn, info, debug, trace'],
    [
      'FINOPS_SOAR_GATEWAY_URL',
      'gateway-admin',
      "gateway.url: Invalid URL. Expected: the gateway's admin base URL, e.g. http://gateway-admin:8090, http://litellm:4000 or http://kong:8001",
    ],
  ])('an invalid %s=%j names the variable, the field and what is expected', (variable, value, line) => {
    const file = configFile('ingress:\n  port: 9000\n');
    expect(errorOf(() => loadConfig({ file, env: { [variable]: value } }))).toBe(
      `invalid configuration:\n  environment variable ${variable}: ${line}`,
    );
  });

  test('with no file at all, an invalid variable is still named', () => {
    const message = errorOf(() => loadConfig({ file: configFile(''), env: { FINOPS_SOAR_INGRESS_PORT: 'abc' } }));
    expect(message).toMatch(
      /^invalid configuration:\n {2}environment variable FINOPS_SOAR_INGRESS_PORT: ingress\.port: /,
    );
  });

  test('a problem in the file is still blamed on the file when the environment sets other fields', () => {
    const file = configFile('ingress:\n  port: 0\n');
    expect(errorOf(() => loadConfig({ file, env: { TEMPORAL_ADDRESS: 'temporal:7233' } }))).toBe(
      `invalid configuration:\n  ${file}: ingress.port: Too small: expected number to be >=1. Expected: a TCP port (1-65535) for the webhook server`,
    );
  });
});

describe('secrets', () => {
  test('*File fields in YAML are read relative to the config file and trimmed', () => {
    const file = configFile(
      'temporal:\n  apiKeyFile: secrets/api-key\ningress:\n  tokenFile: token.txt\n  basicAuth:\n    username: alertmanager\n    passwordFile: password.txt\ngateway:\n  tokenFile: gw.txt\n',
      { 'token.txt': `  ${TOKEN}\n`, 'password.txt': `${PASSWORD}\n`, 'gw.txt': 'gw-token\n' },
    );
    // secrets/api-key lives in a subfolder of the config folder.
    const dir = file.replace(/finops-soar\.yaml$/, '');
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets', 'api-key'), API_KEY);
    const config = loadConfig({ file, env: {} });
    expect(config.temporal.apiKey).toBe(API_KEY);
    expect(config.ingress.token).toBe(TOKEN);
    expect(config.ingress.basicAuth).toEqual({ username: 'alertmanager', password: PASSWORD });
    expect(config.gateway.token).toBe('gw-token');
    expect(config.ingress).not.toHaveProperty('tokenFile');
  });

  test('an absolute *File path is used as is', () => {
    const { dir: secretDir } = configDir('', { 'token.txt': TOKEN });
    const file = configFile(`ingress:\n  tokenFile: ${join(secretDir, 'token.txt')}\n`);
    expect(loadConfig({ file, env: {} }).ingress.token).toBe(TOKEN);
  });

  test('*_FILE variables are read and trimmed', () => {
    const { dir } = configDir('', { token: `${TOKEN}\n`, password: `${PASSWORD}\r\n`, key: API_KEY, gw: 'gw-token' });
    const config = loadConfig({
      file: configFile(''),
      env: {
        FINOPS_SOAR_INGRESS_TOKEN_FILE: join(dir, 'token'),
        FINOPS_SOAR_INGRESS_USERNAME: 'alertmanager',
        FINOPS_SOAR_INGRESS_PASSWORD_FILE: join(dir, 'password'),
        TEMPORAL_API_KEY_FILE: join(dir, 'key'),
        FINOPS_SOAR_GATEWAY_TOKEN_FILE: join(dir, 'gw'),
      },
    });
    expect(config.ingress.token).toBe(TOKEN);
    expect(config.ingress.basicAuth?.password).toBe(PASSWORD);
    expect(config.temporal.apiKey).toBe(API_KEY);
    expect(config.gateway.token).toBe('gw-token');
  });

  test('precedence: the variable, then its _FILE, then the YAML file', () => {
    const { dir } = configDir('', { env: 'from-env-file-0123456789', yaml: 'from-yaml-file-0123456789' });
    const variable = 'from-variable-0123456789';
    const token = (yaml: string, env: Record<string, string>) =>
      loadConfig({ file: configFile(yaml), env }).ingress.token;
    const withFile = `ingress:\n  tokenFile: ${join(dir, 'yaml')}\n`;
    expect(
      token(withFile, { FINOPS_SOAR_INGRESS_TOKEN: variable, FINOPS_SOAR_INGRESS_TOKEN_FILE: join(dir, 'env') }),
    ).toBe(variable);
    expect(token(withFile, { FINOPS_SOAR_INGRESS_TOKEN_FILE: join(dir, 'env') })).toBe('from-env-file-0123456789');
    expect(token(withFile, {})).toBe('from-yaml-file-0123456789');
  });

  test.each([
    [
      'ingress:\n  token: a-token-in-the-file-0123\n',
      'ingress.token',
      'ingress.tokenFile',
      'FINOPS_SOAR_INGRESS_TOKEN',
    ],
    [
      'ingress:\n  basicAuth:\n    username: am\n    password: a-password-in-the-file\n',
      'ingress.basicAuth.password',
      'ingress.basicAuth.passwordFile',
      'FINOPS_SOAR_INGRESS_PASSWORD',
    ],
    [
      'slack:\n  signingSecret: a-secret-in-the-file\n',
      'slack.signingSecret',
      'slack.signingSecretFile',
      'FINOPS_SOAR_SLACK_SIGNING_SECRET',
    ],
    [
      'policy:\n  opaToken: an-opa-token-in-the-file\n',
      'policy.opaToken',
      'policy.opaTokenFile',
      'FINOPS_SOAR_OPA_TOKEN',
    ],
    [
      'approvals:\n  operatorTokens:\n    U0ALICE: alice-token-0123456789\n',
      'approvals.operatorTokens',
      'approvals.operatorTokensFile',
      'FINOPS_SOAR_OPERATOR_TOKENS',
    ],
  ])(
    'a secret written in the YAML itself is refused, naming the field and where it may come from (%#)',
    (yaml, field, fileField, variable) => {
      const file = configFile(yaml);
      // Even with the variable set: the file should not hold it at all.
      for (const env of [{}, { [variable]: 'from-variable-0123456789' }]) {
        const message = errorOf(() => loadConfig({ file, env }));
        expect(message).toBe(
          `${file}: ${field}: a secret written in the configuration file is refused. Put it in a file and name that file in ${fileField}, or set ${variable} (or ${variable}_FILE).`,
        );
        expect(message).not.toMatch(/in-the-file|alice-token/);
      }
    },
  );

  test('the variable wins over a YAML *File that does not exist (the file is not needed)', () => {
    const file = configFile('ingress:\n  tokenFile: does-not-exist\n');
    expect(loadConfig({ file, env: { FINOPS_SOAR_INGRESS_TOKEN: TOKEN } }).ingress.token).toBe(TOKEN);
  });

  test('a *_FILE variable also makes a missing YAML *File unnecessary', () => {
    const { dir } = configDir('', { token: TOKEN });
    const file = configFile('ingress:\n  tokenFile: does-not-exist\n');
    expect(loadConfig({ file, env: { FINOPS_SOAR_INGRESS_TOKEN_FILE: join(dir, 'token') } }).ingress.token).toBe(TOKEN);
  });

  test('an unreadable YAML *File names the config file, the field and the path', () => {
    const { dir, file } = configDir('ingress:\n  tokenFile: missing-token\n');
    const message = errorOf(() => loadConfig({ file, env: {} }));
    expect(
      message.startsWith(
        `${file}: ingress.tokenFile: cannot read the secret file ${join(dir, 'missing-token')} (ENOENT`,
      ),
    ).toBe(true);
    expect(message).toMatch(/Fix the path or the file's permissions\.$/);
  });

  test('an unreadable *_FILE names the variable, the path and the fix', () => {
    const missing = join(configDir('').dir, 'missing-token');
    const message = errorOf(() =>
      loadConfig({ file: configFile(''), env: { FINOPS_SOAR_INGRESS_TOKEN_FILE: missing } }),
    );
    expect(
      message.startsWith(
        `environment variable FINOPS_SOAR_INGRESS_TOKEN_FILE: cannot read the secret file ${missing} (ENOENT`,
      ),
    ).toBe(true);
    expect(message).toMatch(/Fix the path or the file's permissions\.$/);
  });

  test('a *File field that is not a path is refused', () => {
    const file = configFile('ingress:\n  tokenFile: 42\n');
    expect(errorOf(() => loadConfig({ file, env: {} }))).toBe(
      `${file}: ingress.tokenFile: expected the path of a file holding the secret`,
    );
  });

  test('*File works only for secret fields; elsewhere it is an unknown field', () => {
    const file = configFile('ingress:\n  hostFile: host.txt\n', { 'host.txt': '0.0.0.0' });
    expect(errorOf(() => loadConfig({ file, env: {} }))).toBe(
      `invalid configuration:\n  ${file}: ingress: Unrecognized key: "hostFile"`,
    );
  });

  test('a secret from a _FILE that fails validation names the _FILE variable', () => {
    const { dir } = configDir('', { token: 'short-SECRET' });
    const message = errorOf(() =>
      loadConfig({ file: configFile(''), env: { FINOPS_SOAR_INGRESS_TOKEN_FILE: join(dir, 'token') } }),
    );
    expect(message).toBe(
      'invalid configuration:\n  environment variable FINOPS_SOAR_INGRESS_TOKEN_FILE: ingress.token: Too small: expected string to have >=16 characters. Expected: a bearer token of at least 16 characters (set FINOPS_SOAR_INGRESS_TOKEN or ingress.tokenFile)',
    );
  });

  test('basic auth needs both halves', () => {
    const message = errorOf(() =>
      loadConfig({ file: configFile(''), env: { FINOPS_SOAR_INGRESS_USERNAME: 'alertmanager' } }),
    );
    expect(message).toMatch(
      /ingress\.basicAuth\.password: Invalid input: expected string, received undefined\. Expected: a basic-auth password of at least 16 characters/,
    );
  });

  describe('error messages never contain secret values', () => {
    const secrets = ['short-SECRET-1', 'tiny-SECRET-2', 'pw-SECRET-3'];
    const expectNoSecret = (message: string) => {
      for (const secret of [...secrets, TOKEN, PASSWORD, API_KEY]) expect(message).not.toContain(secret);
      expect(message).not.toContain('SECRET');
    };

    test('a too-short token or password from the environment', () => {
      const message = errorOf(() =>
        loadConfig({
          file: configFile(''),
          env: {
            FINOPS_SOAR_INGRESS_TOKEN: secrets[0],
            FINOPS_SOAR_INGRESS_USERNAME: 'am',
            FINOPS_SOAR_INGRESS_PASSWORD: secrets[2],
          },
        }),
      );
      expect(message).toMatch(/environment variable FINOPS_SOAR_INGRESS_TOKEN: ingress\.token: Too small/);
      expect(message).toMatch(
        /environment variable FINOPS_SOAR_INGRESS_PASSWORD: ingress\.basicAuth\.password: Too small/,
      );
      expectNoSecret(message);
    });

    test('a too-short token from a YAML *File or in the YAML itself', () => {
      expectNoSecret(
        errorOf(() => loadConfig({ file: configFile('ingress:\n  tokenFile: t\n', { t: secrets[1]! }), env: {} })),
      );
      expectNoSecret(errorOf(() => loadConfig({ file: configFile(`ingress:\n  token: ${secrets[1]}\n`), env: {} })));
    });

    test('a secret of the wrong type in YAML', () => {
      expectNoSecret(errorOf(() => loadConfig({ file: configFile(`ingress:\n  token: [${TOKEN}]\n`), env: {} })));
    });

    test('other problems while secrets are set', () => {
      const message = errorOf(() =>
        loadConfig({
          file: configFile(''),
          env: {
            FINOPS_SOAR_INGRESS_TOKEN: TOKEN,
            TEMPORAL_API_KEY: API_KEY,
            FINOPS_SOAR_INGRESS_PORT: 'abc',
            FINOPS_SOAR_INGRESS_USERNAME: 'am',
            FINOPS_SOAR_INGRESS_PASSWORD: PASSWORD,
            LOG_LEVEL: 'x',
          },
        }),
      );
      expectNoSecret(message);
    });

    test('unknown keys next to a secret name the key, not the value', () => {
      expectNoSecret(errorOf(() => loadConfig({ file: configFile(`ingress:\n  tokn: ${TOKEN}\n`), env: {} })));
    });

    test('invalid YAML on the line holding a secret', () => {
      const file = configFile(`ingress:\n  token: ${TOKEN}: oops\n`);
      const message = errorOf(() => loadConfig({ file, env: {} }));
      expect(message.startsWith(`${file}: invalid YAML:`)).toBe(true);
      expectNoSecret(message);
    });
  });
});

describe('ingress.repeatWindow and the worker tuning (worker.*)', () => {
  test('from the file: durations, numbers, auto pollers and a bundle path', () => {
    const config = loadConfig({
      file: configFile(
        'ingress:\n  repeatWindow: 0s\nworker:\n  maxCachedWorkflows: 0\n  workflowTaskPollers: auto\n  activityTaskPollers: auto\n  workflowBundle: dist/workflow-bundle.js\n',
      ),
      env: {},
    });
    expect(config.ingress.repeatWindow).toBe(0);
    expect(config.worker).toEqual({
      maxCachedWorkflows: 0,
      workflowTaskSlots: 40,
      activityTaskSlots: 200,
      localActivitySlots: 100,
      workflowTaskPollers: 'auto',
      activityTaskPollers: 'auto',
      workflowBundle: 'dist/workflow-bundle.js',
    });
  });

  test.each([
    [
      'FINOPS_SOAR_REPEAT_WINDOW',
      'a minute',
      /^ {2}environment variable FINOPS_SOAR_REPEAT_WINDOW: ingress\.repeatWindow: "a minute" is not a duration\. Expected: how long an alert Temporal accepted/,
    ],
    [
      'FINOPS_SOAR_REPEAT_WINDOW',
      '1h',
      /ingress\.repeatWindow: at most 15m: a run must keep hearing from a firing alert/,
    ],
    [
      'FINOPS_SOAR_WORKER_MAX_CACHED_WORKFLOWS',
      '-1',
      /FINOPS_SOAR_WORKER_MAX_CACHED_WORKFLOWS: worker\.maxCachedWorkflows: Too small: expected number to be >=0\. Expected: how many runs one worker keeps in memory/,
    ],
    [
      'FINOPS_SOAR_WORKER_ACTIVITY_TASK_SLOTS',
      'many',
      /FINOPS_SOAR_WORKER_ACTIVITY_TASK_SLOTS: worker\.activityTaskSlots: Invalid input: expected number, received NaN\. Expected: how many activities/,
    ],
    [
      'FINOPS_SOAR_WORKER_WORKFLOW_TASK_POLLERS',
      '1',
      /FINOPS_SOAR_WORKER_WORKFLOW_TASK_POLLERS: worker\.workflowTaskPollers: .*Expected: how many polls for workflow tasks one worker keeps open: a number \(at least 2\), or auto/,
    ],
    [
      'FINOPS_SOAR_WORKER_WORKFLOW_TASK_POLLERS',
      'lots',
      /worker\.workflowTaskPollers: .*a number \(at least 2\), or auto/,
    ],
  ])('%s=%s is refused, naming the variable and the field', (variable, value, problem) => {
    expect(errorOf(() => loadConfig({ file: configFile(''), env: { [variable]: value } }))).toMatch(
      new RegExp(problem.source, 'm'),
    );
  });

  test('the SDK rules between slots and pollers are checked when the configuration loads, naming the field', () => {
    const message = errorOf(() =>
      loadConfig({ file: configFile('worker:\n  workflowTaskSlots: 4\n  workflowTaskPollers: 8\n'), env: {} }),
    );
    expect(message).toMatch(/worker\.workflowTaskPollers: no more workflow task pollers than workflow task slots/);
    expect(errorOf(() => loadConfig({ file: configFile('worker:\n  activityTaskSlots: 5\n'), env: {} }))).toMatch(
      /worker\.activityTaskPollers: no more activity pollers than activity slots/,
    );
    expect(
      errorOf(() =>
        loadConfig({ file: configFile('worker:\n  workflowTaskSlots: 1\n  workflowTaskPollers: auto\n'), env: {} }),
      ),
    ).toMatch(/worker\.workflowTaskSlots: with a workflow cache, at least 2 workflow task slots/);
  });

  test('an unknown worker key is refused, naming it', () => {
    expect(errorOf(() => loadConfig({ file: configFile('worker:\n  cacheSize: 10\n'), env: {} }))).toMatch(
      /worker.*cacheSize/,
    );
  });
});

describe('finops.capa', () => {
  test('reminders, families and closers as written, durations as text', () => {
    const config = loadConfig({
      file: configFile(
        'finops:\n  capa:\n    families: [cost, storage]\n    remindEvery: 4h\n    closers: [U0LEAD, finops-leads]\n',
      ),
      env: {},
    });
    expect(config.finops.capa).toEqual({
      families: ['cost', 'storage'],
      notify: ['finops'],
      remindEvery: 14_400_000,
      closers: ['U0LEAD', 'finops-leads'],
    });
  });

  test('a reminder every few seconds, an empty closers list or an unknown key is refused, naming the field', () => {
    const error = (yaml: string) => errorOf(() => loadConfig({ file: configFile(yaml), env: {} }));
    expect(error('finops:\n  capa:\n    remindEvery: 10s\n')).toMatch(/finops\.capa\.remindEvery.*at least 1m/);
    expect(error('finops:\n  capa:\n    closers: []\n')).toMatch(/finops\.capa\.closers/);
    expect(error('finops:\n  capa:\n    owner: U0A\n')).toMatch(/finops\.capa.*owner/);
  });
});
