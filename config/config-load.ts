// Loads the configuration: the YAML file (FINOPS_SOAR_CONFIG, default ./finops-soar.yaml when
// present), then environment overrides, then secrets read from files, then zod validation.
// Errors name where the bad value came from (file or variable), the field and the fix.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { formatIssues, formatPath } from '../validation/issues';
import { configSchema, type Config } from './config-schema';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables and the config field each one overrides. */
export const ENV_OVERRIDES: ReadonlyArray<readonly [variable: string, path: readonly string[]]> = [
  ['FINOPS_SOAR_DATA_DIR', ['dataDir']],
  ['TEMPORAL_ADDRESS', ['temporal', 'address']],
  ['TEMPORAL_NAMESPACE', ['temporal', 'namespace']],
  ['FINOPS_SOAR_TEMPORAL_UI_URL', ['temporal', 'uiUrl']],
  ['TEMPORAL_API_KEY', ['temporal', 'apiKey']],
  ['TEMPORAL_TLS_CLIENT_CERT_PATH', ['temporal', 'tls', 'clientCertPath']],
  ['TEMPORAL_TLS_CLIENT_KEY_PATH', ['temporal', 'tls', 'clientKeyPath']],
  ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', ['temporal', 'tls', 'serverCaCertPath']],
  ['TEMPORAL_TLS_SERVER_NAME', ['temporal', 'tls', 'serverName']],
  ['TEMPORAL_CLI_PATH', ['temporal', 'embedded', 'cliPath']],
  ['FINOPS_SOAR_TASK_QUEUE', ['temporal', 'taskQueue']],
  ['FINOPS_SOAR_INGRESS_HOST', ['ingress', 'host']],
  ['FINOPS_SOAR_INGRESS_PORT', ['ingress', 'port']],
  ['FINOPS_SOAR_INGRESS_TOKEN', ['ingress', 'token']],
  ['FINOPS_SOAR_INGRESS_USERNAME', ['ingress', 'basicAuth', 'username']],
  ['FINOPS_SOAR_INGRESS_PASSWORD', ['ingress', 'basicAuth', 'password']],
  ['FINOPS_SOAR_ALERTMANAGER_URL', ['ingress', 'alertmanagerUrl']],
  ['FINOPS_SOAR_REPEAT_WINDOW', ['ingress', 'repeatWindow']],
  ['FINOPS_SOAR_GATEWAY_KIND', ['gateway', 'kind']],
  ['FINOPS_SOAR_GATEWAY_URL', ['gateway', 'url']],
  ['FINOPS_SOAR_GATEWAY_TOKEN', ['gateway', 'token']],
  ['FINOPS_SOAR_KUBECONFIG', ['kubernetes', 'kubeconfig']],
  ['FINOPS_SOAR_KUBE_CONTEXT', ['kubernetes', 'context']],
  ['FINOPS_SOAR_KUBE_SERVER', ['kubernetes', 'server']],
  ['FINOPS_SOAR_KUBE_TOKEN', ['kubernetes', 'token']],
  ['FINOPS_SOAR_OPA_URL', ['policy', 'opaUrl']],
  ['FINOPS_SOAR_OPA_TOKEN', ['policy', 'opaToken']],
  ['FINOPS_SOAR_METRICS_HOST', ['metrics', 'host']],
  ['FINOPS_SOAR_METRICS_PORT', ['metrics', 'port']],
  ['FINOPS_SOAR_PROMETHEUS_URL', ['prometheus', 'url']],
  ['FINOPS_SOAR_PROMETHEUS_TOKEN', ['prometheus', 'token']],
  ['FINOPS_SOAR_OPERATOR_TOKENS', ['approvals', 'operatorTokens']],
  ['FINOPS_SOAR_SLACK_TOKEN', ['slack', 'token']],
  ['FINOPS_SOAR_SLACK_SIGNING_SECRET', ['slack', 'signingSecret']],
  ['FINOPS_SOAR_SLACK_API_URL', ['slack', 'apiUrl']],
  ['FINOPS_SOAR_SLACK_DEFAULT_CHANNEL', ['slack', 'defaultChannel']],
  ['FINOPS_SOAR_GPU_HOURLY_USD', ['finops', 'gpuHourlyUsd']],
  ['FINOPS_SOAR_BUDGET_HEADROOM', ['finops', 'headroom']],
  ['FINOPS_SOAR_S3_REGION', ['storage', 's3', 'region']],
  ['FINOPS_SOAR_S3_ENDPOINT', ['storage', 's3', 'endpoint']],
  ['FINOPS_SOAR_S3_FORCE_PATH_STYLE', ['storage', 's3', 'forcePathStyle']],
  ['FINOPS_SOAR_SIMULATOR_HOST', ['simulator', 'host']],
  ['FINOPS_SOAR_SIMULATOR_PORT', ['simulator', 'port']],
  ['FINOPS_SOAR_SIMULATOR_KUBERNETES_PORT', ['simulator', 'kubernetesPort']],
  ['FINOPS_SOAR_SIMULATOR_S3_PORT', ['simulator', 's3Port']],
  ['FINOPS_SOAR_SIMULATOR_SEED', ['simulator', 'seed']],
  ['FINOPS_SOAR_PLAYBOOKS_DIR', ['playbooks', 'dir']],
  ['FINOPS_SOAR_COOLDOWN', ['engine', 'cooldown']],
  ['FINOPS_SOAR_DRY_RUN', ['engine', 'dryRun']],
  ['FINOPS_SOAR_STALE_ALERT_AFTER', ['engine', 'staleAlertAfter']],
  ['FINOPS_SOAR_PROTECTED_ROUTES', ['engine', 'protectedRoutes']],
  ['FINOPS_SOAR_SENSITIVE_ROUTES', ['engine', 'sensitiveRoutes']],
  ['FINOPS_SOAR_PROTECTED_TENANTS', ['engine', 'protectedTenants']],
  ['FINOPS_SOAR_MAX_CONCURRENT_RUNS', ['engine', 'maxConcurrentRuns']],
  ['FINOPS_SOAR_MAX_ACTIONS_PER_TARGET_PER_HOUR', ['engine', 'maxActionsPerTargetPerHour']],
  ['FINOPS_SOAR_LIMIT_SHARDS', ['engine', 'limitShards']],
  ['FINOPS_SOAR_FLAP_MEMORY', ['engine', 'flapMemory', 'within']],
  ['FINOPS_SOAR_WORKER_MAX_CACHED_WORKFLOWS', ['worker', 'maxCachedWorkflows']],
  ['FINOPS_SOAR_WORKER_WORKFLOW_TASK_SLOTS', ['worker', 'workflowTaskSlots']],
  ['FINOPS_SOAR_WORKER_ACTIVITY_TASK_SLOTS', ['worker', 'activityTaskSlots']],
  ['FINOPS_SOAR_WORKER_LOCAL_ACTIVITY_SLOTS', ['worker', 'localActivitySlots']],
  ['FINOPS_SOAR_WORKER_WORKFLOW_TASK_POLLERS', ['worker', 'workflowTaskPollers']],
  ['FINOPS_SOAR_WORKER_ACTIVITY_TASK_POLLERS', ['worker', 'activityTaskPollers']],
  ['FINOPS_SOAR_WORKER_WORKFLOW_BUNDLE', ['worker', 'workflowBundle']],
  ['LOG_LEVEL', ['log', 'level']],
  ['LOG_FORMAT', ['log', 'format']],
];

/**
 * Secrets come from the environment or from files, never from the configuration file itself: the variable,
 * `<VARIABLE>_FILE`, or a file named by `<field>File` in YAML, in that order of precedence.
 */
const SECRET_VARIABLES = new Set([
  'TEMPORAL_API_KEY',
  'FINOPS_SOAR_INGRESS_TOKEN',
  'FINOPS_SOAR_INGRESS_PASSWORD',
  'FINOPS_SOAR_GATEWAY_TOKEN',
  'FINOPS_SOAR_PROMETHEUS_TOKEN',
  'FINOPS_SOAR_KUBE_TOKEN',
  'FINOPS_SOAR_OPA_TOKEN',
  'FINOPS_SOAR_SLACK_TOKEN',
  'FINOPS_SOAR_SLACK_SIGNING_SECRET',
  'FINOPS_SOAR_OPERATOR_TOKENS',
]);

type Tree = Record<string, unknown>;

function childTree(tree: Tree, key: string): Tree {
  const child = tree[key];
  if (isTree(child)) return child;
  return (tree[key] = {});
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  const parent = path.slice(0, -1).reduce(childTree, tree);
  parent[path[path.length - 1]!] = value;
}

const isTree = (node: unknown): node is Tree => node !== null && typeof node === 'object' && !Array.isArray(node);

function getPath(tree: Tree, path: readonly string[]): unknown {
  return path.reduce<unknown>((node, key) => (isTree(node) ? node[key] : undefined), tree);
}

function readYaml(file: string): Tree {
  // Without prettyErrors: the pretty form quotes the offending line, which may hold a secret.
  const lines = new LineCounter();
  const document = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lines, prettyErrors: false });
  if (document.errors.length > 0) {
    const where = (offset: number) => {
      const { line, col } = lines.linePos(offset);
      return `line ${line}, column ${col}`;
    };
    throw new ConfigError(
      `${file}: invalid YAML:\n${document.errors.map((e) => `  ${where(e.pos[0])}: ${e.message}`).join('\n')}`,
    );
  }
  const content: unknown = document.toJS();
  if (content == null) return {};
  if (typeof content !== 'object' || Array.isArray(content))
    throw new ConfigError(`${file}: the top level must be a mapping of sections (temporal, ingress, …)`);
  return content as Tree;
}

function readSecretFile(path: string, origin: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(
      `${origin}: cannot read the secret file ${path} (${(error as Error).message}). Fix the path or the file's permissions.`,
    );
  }
}

export interface LoadConfigOptions {
  /** The YAML file; defaults to FINOPS_SOAR_CONFIG, then ./finops-soar.yaml when it exists. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig({ env = process.env, file }: LoadConfigOptions = {}): Config {
  const explicit = file ?? env.FINOPS_SOAR_CONFIG;
  const path = resolve(explicit ?? 'finops-soar.yaml');
  if (explicit && !existsSync(path))
    throw new ConfigError(
      `config file ${path} does not exist (from ${file ? 'the command line' : 'FINOPS_SOAR_CONFIG'}). Fix the path, or unset it to use defaults.`,
    );
  const fileName = existsSync(path) ? path : undefined;
  const raw: Tree = fileName ? readYaml(fileName) : {};

  for (const [variable, fieldPath] of ENV_OVERRIDES) {
    if (!SECRET_VARIABLES.has(variable) || !fileName) continue;
    const fileKey = `${fieldPath[fieldPath.length - 1]}File`;
    const parent = getPath(raw, fieldPath.slice(0, -1));
    // A configuration file is copied, diffed, committed and pasted into tickets; a secret in it goes along.
    if (isTree(parent) && parent[fieldPath[fieldPath.length - 1]!] !== undefined)
      throw new ConfigError(
        `${fileName}: ${formatPath(fieldPath)}: a secret written in the configuration file is refused. Put it in a file and name that file in ${formatPath([...fieldPath.slice(0, -1), fileKey])}, or set ${variable} (or ${variable}_FILE).`,
      );
    if (!isTree(parent) || !(fileKey in parent)) continue;
    const secretFile = parent[fileKey];
    delete parent[fileKey];
    if (env[variable] || env[`${variable}_FILE`]) continue; // the environment wins; the file is not needed
    const origin = `${fileName}: ${formatPath([...fieldPath.slice(0, -1), fileKey])}`;
    if (typeof secretFile !== 'string')
      throw new ConfigError(`${origin}: expected the path of a file holding the secret`);
    parent[fieldPath[fieldPath.length - 1]!] ??= readSecretFile(resolve(dirname(fileName), secretFile), origin);
  }

  // Remember where each value came from, so an error can point at the variable rather than the file.
  const origins = new Map<string, string>();
  for (const [variable, fieldPath] of ENV_OVERRIDES) {
    const fileVariable =
      SECRET_VARIABLES.has(variable) && !env[variable] && env[`${variable}_FILE`] ? `${variable}_FILE` : undefined;
    const source = fileVariable ?? variable;
    const value = fileVariable
      ? readSecretFile(env[fileVariable]!, `environment variable ${fileVariable}`)
      : env[variable];
    if (value === undefined || value === '') continue;
    setPath(raw, fieldPath, value);
    origins.set(formatPath(fieldPath), `environment variable ${source}`);
  }

  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = formatIssues(parsed.error, configSchema).map((line, index) => {
    const field = formatPath(parsed.error.issues[index]!.path);
    return `  ${origins.get(field) ?? fileName ?? 'defaults'}: ${line}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}
