// Prometheus and Alertmanager for the local stack, so budget-gated scale-out and adaptive
// throttling measure the simulator, and the alert rules raise alerts that reach the ingress by
// themselves. Each runs when its binary is installed (Debian's prometheus 2.42 and
// prometheus-alertmanager 0.25); without one the stack still starts, and says what is missing.
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Logger } from '../observability/logger';
import { stopService, waitForHttp, type Service } from './services';

/** How often Prometheus scrapes and evaluates the rules. */
const INTERVAL = '5s';
// The month-to-date spend the budget check reads is increase() over the month so far, and the
// burn-rate rules compare with 14 days: keep more than a month (the default is 15 days).
const RETENTION = '35d';
const READY_TIMEOUT_MS = 60_000;

export interface LocalObservabilityOptions {
  /**
   * The stack's data folder: Prometheus and Alertmanager keep their config and state in prometheus/ and alertmanager/
   * under it.
   */
  stateDir: string;
  /** Where Prometheus answers (it listens on this URL's host and port); undefined runs none. */
  prometheusUrl: string | undefined;
  /** Where Alertmanager answers (it listens on this URL's host and port); undefined runs none. */
  alertmanagerUrl: string | undefined;
  /** What Prometheus scrapes: each job's host:port serving /metrics. */
  scrape: Array<{ job: string; target: string }>;
  /** Absolute paths or globs of the rule files Prometheus evaluates; globs matching nothing are fine. */
  ruleFiles: string[];
  /** The ingress's Alertmanager webhook, and the bearer token it accepts. */
  webhook: { url: string; bearerToken: string };
  logger: Logger;
  /** Where to look for the binaries (default: PATH). */
  searchPath?: string;
  /** Told of each process as soon as it is spawned, so a caller can stop it with its other services even mid-start. */
  onSpawn?: (service: ObservabilityService) => void;
}

export interface ObservabilityService extends Service {
  url: string;
}

export interface LocalObservability {
  /** What runs and answered /-/ready. */
  services: ObservabilityService[];
  /** Stops them all and resolves once they exited. */
  stop(): Promise<void>;
}

interface Binary {
  name: 'prometheus' | 'alertmanager';
  /** Executable names, in the order tried: Debian's first. */
  executables: string[];
  missing: string;
  /** What to do when its port is taken. */
  portTaken: string;
}

const PROMETHEUS: Binary = {
  name: 'prometheus',
  executables: ['prometheus'],
  missing:
    'prometheus is not installed, so the stack runs without it and budget checks and adaptive throttling cannot measure: install it with `sudo apt-get install prometheus` (bash .ci/run does it) or from https://prometheus.io/download/, then restart',
  portTaken:
    'stop what holds it (the system Prometheus: sudo systemctl stop prometheus) or point prometheus.url (FINOPS_SOAR_PROMETHEUS_URL) at a free local port',
};

const ALERTMANAGER: Binary = {
  name: 'alertmanager',
  executables: ['prometheus-alertmanager', 'alertmanager'],
  missing:
    'alertmanager is not installed, so the stack runs without it and no alert reaches the ingress by itself: install it with `sudo apt-get install prometheus-alertmanager` (bash .ci/run does it) or from https://prometheus.io/download/, then restart',
  portTaken:
    'stop what holds it (the system Alertmanager: sudo systemctl stop prometheus-alertmanager) or point ingress.alertmanagerUrl (FINOPS_SOAR_ALERTMANAGER_URL) at a free local port',
};

function findExecutable(names: string[], searchPath: string): string | undefined {
  for (const name of names) {
    for (const dir of searchPath.split(delimiter).filter(Boolean)) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not in this folder
      }
    }
  }
  return undefined;
}

/** host:port to listen on for a plain-HTTP URL. */
function listenAddress(url: string): string {
  const { hostname, port } = new URL(url);
  return `${hostname}:${port || '80'}`;
}

const readyUrl = (url: string) => `${url.replace(/\/+$/, '')}/-/ready`;

function prometheusConfig({ scrape, ruleFiles, alertmanagerUrl }: LocalObservabilityOptions): string {
  return stringify({
    global: { scrape_interval: INTERVAL, evaluation_interval: INTERVAL },
    rule_files: ruleFiles,
    ...(alertmanagerUrl && {
      alerting: {
        alertmanagers: [
          {
            path_prefix: new URL(alertmanagerUrl).pathname,
            static_configs: [{ targets: [listenAddress(alertmanagerUrl)] }],
          },
        ],
      },
    }),
    scrape_configs: scrape.map(({ job, target }) => ({ job_name: job, static_configs: [{ targets: [target] }] })),
  });
}

// Short waits, so an alert reaches the ingress seconds after it fires; the grouping matches
// deploy/alertmanager/alertmanager.yml.
function alertmanagerConfig(webhookUrl: string, tokenFile: string): string {
  return stringify({
    route: {
      receiver: 'finops-soar',
      group_by: ['alertname', 'tenant', 'route', 'deployment'],
      group_wait: '2s',
      group_interval: '10s',
    },
    receivers: [
      {
        name: 'finops-soar',
        webhook_configs: [
          {
            url: webhookUrl,
            send_resolved: true,
            http_config: { authorization: { type: 'Bearer', credentials_file: tokenFile } },
          },
        ],
      },
    ],
  });
}

interface Launch {
  binary: Binary;
  executable: string;
  url: string;
  /** Writes its files into `dir` and returns the arguments naming them. */
  prepare: (dir: string) => string[];
}

/** Why nothing can listen on `url`'s address now (e.g. EADDRINUSE), or undefined when it is free. */
function listenError(url: string): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const probe = createServer()
      .once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message))
      .listen(Number(port || '80'), hostname.replace(/^\[|\]$/g, ''), () => probe.close(() => done(undefined)));
  });
}

/** Writes the configs, spawns the installed binaries and waits until they answer /-/ready. */
export async function startLocalObservability(options: LocalObservabilityOptions): Promise<LocalObservability> {
  const {
    logger,
    stateDir,
    prometheusUrl,
    alertmanagerUrl,
    webhook,
    searchPath = process.env.PATH ?? '',
    onSpawn,
  } = options;
  const installed = (binary: Binary, url: string | undefined, prepare: Launch['prepare']): Launch | undefined => {
    if (url === undefined) return undefined;
    const executable = findExecutable(binary.executables, searchPath);
    if (!executable) logger.warn(binary.missing);
    return executable ? { binary, executable, url, prepare } : undefined;
  };

  const alertmanager = installed(ALERTMANAGER, alertmanagerUrl, (dir) => {
    const tokenFile = join(dir, 'ingress-token');
    writeFileSync(tokenFile, webhook.bearerToken, { mode: 0o600 });
    chmodSync(tokenFile, 0o600);
    writeFileSync(join(dir, 'alertmanager.yml'), alertmanagerConfig(webhook.url, tokenFile));
    // One instance: no gossip port to bind or peers to find.
    return [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      '--cluster.listen-address=',
    ];
  });
  const prometheus = installed(PROMETHEUS, prometheusUrl, (dir) => {
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig({ ...options, alertmanagerUrl: alertmanager?.url }));
    return [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--storage.tsdb.retention.time=${RETENTION}`,
    ];
  });
  const launches = [alertmanager, prometheus].filter((launch) => launch !== undefined);

  // Checked before anything starts: another server on the port would answer /-/ready in its place.
  const blocked = await Promise.all(launches.map(async (launch) => ({ launch, error: await listenError(launch.url) })));
  const blockedReasons = blocked.flatMap(({ launch: { binary, url }, error }) =>
    error ? [`${binary.name} cannot listen on ${listenAddress(url)} (${error}): ${binary.portTaken}`] : [],
  );
  if (blockedReasons.length > 0) throw new Error(blockedReasons.join('; '));

  const services = launches.map(({ binary, executable, url, prepare }): ObservabilityService => {
    const dir = join(resolve(stateDir), binary.name);
    mkdirSync(dir, { recursive: true });
    // Its own process group, like the stack's other services: Ctrl-C reaches the stack, which stops it.
    const child = spawn(
      executable,
      [...prepare(dir), `--web.listen-address=${listenAddress(url)}`, `--web.external-url=${url}`, '--log.level=warn'],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        detached: true,
      },
    );
    const service = { name: binary.name, url, process: child };
    onSpawn?.(service);
    return service;
  });
  const stop = async () => {
    await Promise.all(services.map((service) => stopService(service, logger)));
  };

  const ready = await Promise.allSettled(
    services.map((service) => waitForHttp(readyUrl(service.url), service, READY_TIMEOUT_MS)),
  );
  const failures = ready.flatMap((result) =>
    result.status === 'rejected' ? [`${(result.reason as Error).message} (its log above says why)`] : [],
  );
  if (failures.length > 0) {
    await stop();
    throw new Error(failures.join('; '));
  }
  for (const { name, url } of services) logger.info({ service: name, url }, 'ready');
  return { services, stop };
}
