// Process entry point for `npm start`: the whole stack from one terminal. It runs the Temporal dev
// server (unless temporal.address points at an existing cluster), the gateway simulator, the
// worker and the ingress, then Prometheus and Alertmanager where installed, each as its own
// process, and stops them in order on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  devSecrets,
  ingressUrl,
  LOCAL_OPERATOR,
  observabilityUrls,
  PROMETHEUS_RULE_FILES,
  reachableHost,
  type DevSecrets,
  LOCAL_ALERTMANAGER_URL,
} from '../config/local-stack';
import type { Config } from '../config/config-schema';
import { SIMULATOR_S3_CREDENTIALS } from '../simulator/s3-lifecycle-api';
import { isEmbedded, temporalConnectionOptions } from '../temporal/connection';
import { spawnDevServer, waitForTemporal } from '../temporal/dev-server';
import { startLocalObservability, type ObservabilityService } from './local-observability';
import { stopService, waitForHttp, type Service } from './services';
import { exitOnStartupError, startProcess } from './startup';

/** What the stack's Prometheus scrapes. */
const scrapeJobs = (config: Config) => [
  { job: 'simulator', target: `${reachableHost(config.simulator.host)}:${config.simulator.port}` },
  { job: 'finops-soar', target: `${reachableHost(config.metrics.host)}:${config.metrics.port}` },
  { job: 'finops-soar-ingress', target: `${reachableHost(config.ingress.host)}:${config.ingress.port}` },
];

/** Banner rows for Prometheus and Alertmanager: where they answer, or why the stack runs none. */
function observabilityRows(config: Config, running: ObservabilityService[]): string[] {
  const urls = observabilityUrls(config);
  const row = (label: string, name: keyof typeof urls, what: string) => {
    const service = running.find((candidate) => candidate.name === name);
    if (service) return `  ${label.padEnd(20)}${service.url}   (${what})`;
    return `  ${label.padEnd(20)}${urls[name].local ? 'not installed (the warning in the log says how to install it)' : `${urls[name].url} (yours; the stack runs none)`}`;
  };
  return [
    row(
      'Prometheus',
      'prometheus',
      `scrapes ${scrapeJobs(config)
        .map(({ target }) => `${target}/metrics`)
        .join(', ')}; rules: ${PROMETHEUS_RULE_FILES}`,
    ),
    row('Alertmanager', 'alertmanager', 'sends alerts to the hook above'),
  ];
}

function banner(
  config: Config,
  secrets: { ingressToken: string; gatewayToken: string },
  observability: ObservabilityService[],
): string {
  const ingress = ingressUrl(config);
  const simulator = `http://${config.simulator.host}:${config.simulator.port}`;
  const { embedded } = config.temporal;
  const example = (file: string) =>
    `curl -sS -H 'Authorization: Bearer ${secrets.ingressToken}' -H 'Content-Type: application/json' --data @examples/alertmanager/${file} ${ingress}/alerts/alertmanager`;
  return [
    '',
    'finops-soar is running',
    isEmbedded(config.temporal)
      ? `  Temporal UI         http://${embedded.host}:${embedded.uiPort}   (gRPC ${embedded.host}:${embedded.port}, history in ${join(config.dataDir, 'temporal.sqlite')})`
      : `  Temporal            ${config.temporal.address} (namespace ${config.temporal.namespace})`,
    `  Alertmanager hook   ${ingress}/alerts/alertmanager`,
    `  Simulated platform  ${simulator}/v1/routes (Control API), ${simulator}/metrics, ${simulator}/v1/chat/completions`,
    `                      Kubernetes API :${config.simulator.kubernetesPort}, S3 lifecycle API :${config.simulator.s3Port}`,
    ...observabilityRows(config, observability),
    '',
    'Fire a sample alert (context blow-up on route chat, tenant acme):',
    `  ${example('context-blowup-firing.json')}`,
    'See the change at the gateway:',
    `  curl -sS -H 'Authorization: Bearer ${secrets.gatewayToken}' ${simulator}/v1/routes/chat/tenants/acme/policy`,
    `Resolve it (the change is rolled back after the ${config.engine.cooldown / 1000}s cooldown):`,
    `  ${example('context-blowup-resolved.json')}`,
    'Open a war-room by hand, then end it:',
    `  node dist/cli/finops-soar.js start war-room --label route=chat --by "$USER" --reason "trying finops-soar"`,
    `  node dist/cli/finops-soar.js resolve playbook/war-room/route=chat --by "$USER" --reason "done"`,
    `Approvals wait in the log; decide one as ${LOCAL_OPERATOR}:`,
    `  node dist/cli/finops-soar.js approve RUN_ID STEP_ID`,
    '',
    'Ctrl-C stops everything; runs are kept for the next start.',
    '',
  ].join('\n');
}

/**
 * Points the worker at the simulator's Kubernetes and S3 APIs, unless a cluster or an S3 endpoint
 * is configured: then the stack acts on those.
 */
function simulatedInfrastructure(config: Config, secrets: DevSecrets): Record<string, string> {
  const { host, kubernetesPort, s3Port } = config.simulator;
  const reachable = reachableHost(host);
  const env: Record<string, string> = {};
  if (!config.kubernetes.kubeconfig && !config.kubernetes.server) {
    Object.assign(env, {
      FINOPS_SOAR_KUBE_SERVER: `http://${reachable}:${kubernetesPort}`,
      FINOPS_SOAR_KUBE_TOKEN: secrets.gatewayToken,
    });
  }
  if (!config.storage.s3.endpoint) {
    Object.assign(env, {
      FINOPS_SOAR_S3_ENDPOINT: `http://${reachable}:${s3Port}`,
      FINOPS_SOAR_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: SIMULATOR_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SIMULATOR_S3_CREDENTIALS.secretAccessKey,
    });
  }
  return env;
}

async function main() {
  const { config, logger } = startProcess('dev-stack');
  const secrets = devSecrets(config);
  const env = {
    ...process.env,
    FINOPS_SOAR_INGRESS_TOKEN: secrets.ingressToken,
    FINOPS_SOAR_GATEWAY_TOKEN: secrets.gatewayToken,
    // You, on this machine, decide approvals from the CLI (unless operators are configured).
    ...(Object.keys(config.approvals.operatorTokens).length === 0 && {
      FINOPS_SOAR_OPERATOR_TOKENS: `${LOCAL_OPERATOR}=${secrets.operatorToken}`,
    }),
    ...simulatedInfrastructure(config, secrets),
    // The ingress reads truncated notifications only from configured Alertmanagers: the stack's own.
    ...(!config.ingress.alertmanagerUrl && { FINOPS_SOAR_ALERTMANAGER_URL: LOCAL_ALERTMANAGER_URL }),
  };
  const services: Service[] = [];
  let stopping = false;

  // Each service gets its own process group so Ctrl-C reaches only us, and we stop them in order:
  // no new alerts or webhooks first, Temporal last.
  const stopAll = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    for (const service of [...services].reverse()) await stopService(service, logger);
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  process.on('exit', () => services.forEach(({ process: child }) => child.exitCode === null && child.kill('SIGKILL')));

  const start = (name: string, child: ChildProcess) => {
    const service = { name, process: child };
    services.push(service);
    child.once('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ service: name, code, signal }, 'a service stopped unexpectedly; stopping the stack');
      void stopAll(1);
    });
    return service;
  };
  const node = (script: string) =>
    spawn(process.execPath, [join(__dirname, script)], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });

  const urls = observabilityUrls(config);
  let observability: ObservabilityService[];
  try {
    if (isEmbedded(config.temporal)) {
      start('temporal', spawnDevServer(config));
      await waitForTemporal(temporalConnectionOptions(config.temporal).address, 60_000);
    }
    const simulator = start('simulator', node('simulator.js'));
    await waitForHttp(`http://${config.simulator.host}:${config.simulator.port}/healthz`, simulator, 30_000);
    start('worker', node('worker.js'));
    const ingress = start('ingress', node('ingress.js'));
    await waitForHttp(`${ingressUrl(config)}/healthz`, ingress, 30_000);
    ({ services: observability } = await startLocalObservability({
      stateDir: config.dataDir,
      prometheusUrl: urls.prometheus.local ? urls.prometheus.url : undefined,
      alertmanagerUrl: urls.alertmanager.local ? urls.alertmanager.url : undefined,
      scrape: scrapeJobs(config),
      ruleFiles: [resolve(PROMETHEUS_RULE_FILES)],
      webhook: { url: `${ingressUrl(config)}/alerts/alertmanager`, bearerToken: secrets.ingressToken },
      logger,
      onSpawn: ({ name, process: child }) => start(name, child),
    }));
  } catch (error) {
    logger.error({ err: error }, 'the stack could not start');
    await stopAll(1);
    return;
  }
  console.log(banner(config, secrets, observability));
}

main().catch((error: unknown) => exitOnStartupError('dev-stack', error));
