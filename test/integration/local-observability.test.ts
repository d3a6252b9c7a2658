// The Prometheus and Alertmanager `npm start` runs (Debian's prometheus 2.42 and
// prometheus-alertmanager 0.25), against the real simulated platform: Prometheus scrapes its
// /metrics and evaluates the repository's rules, an alert it raises reaches the webhook through
// Alertmanager with the bearer token, and stopping leaves nothing running. Without the binaries,
// with a port taken or a broken rule file, start-up says so and leaves nothing behind.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { PROMETHEUS_RULE_FILES } from '../../config/local-stack';
import { createLogger } from '../../observability/logger';
import { startSimulatedPlatform, type SimulatedPlatform } from '../../simulator/simulated-platform';
import {
  startLocalObservability,
  type LocalObservability,
  type LocalObservabilityOptions,
  type ObservabilityService,
} from '../../workers/local-observability';
import { freePort } from '../helpers/ports';
import { GATEWAY_TOKEN, silentLogger } from '../helpers/simulator';
import { waitFor } from '../helpers/wait';

const INGRESS_TOKEN = 'local-observability-ingress-token';
const REPO_RULES = resolve(__dirname, '../..', PROMETHEUS_RULE_FILES);
const workDir = mkdtempSync(join(tmpdir(), 'finops-soar-observability-'));

// An alert that fires as soon as the simulator has been scraped: the whole path in seconds.
const TEST_RULES = join(workDir, 'simulator-scraped.rules.yml');
writeFileSync(
  TEST_RULES,
  `groups:
  - name: local-observability-test
    rules:
      - alert: SimulatorScraped
        expr: up{job="simulator"} == 1
        labels: { severity: S3 }
        annotations: { summary: Prometheus scrapes the simulator }
`,
);

interface Recorded {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Stands in for the ingress: records every request and answers 200, as the ingress does once Temporal accepted the
 * work.
 */
async function startWebhookReceiver(): Promise<{ url: string; requests: Recorded[]; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = createLogger('local-observability-test', 'info', {
    write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }),
  });
  return { logger, lines };
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
};

/**
 * The installed binaries, each behind a wrapper that execs it with its output in a file of the test's
 * (the same process, so its pid and signals are the binary's own): started by the stack, they would
 * print on the test's terminal. forwardLogs() hands what they wrote since to the test's logs, which
 * are printed only if the test fails.
 */
function wrappedBinaries(dir: string): { searchPath: string; forwardLogs(): void } {
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'output.log');
  writeFileSync(log, '');
  for (const name of ['prometheus', 'prometheus-alertmanager', 'alertmanager']) {
    const installed = (process.env.PATH ?? '')
      .split(delimiter)
      .map((pathDir) => join(pathDir, name))
      .find((candidate) => existsSync(candidate));
    if (!installed) continue;
    const wrapper = join(dir, name);
    writeFileSync(wrapper, `#!/bin/sh\nexec '${installed}' "$@" >>'${log}' 2>&1\n`);
    chmodSync(wrapper, 0o755);
  }
  let forwarded = 0;
  return {
    searchPath: dir,
    forwardLogs() {
      const output = readFileSync(log);
      if (output.length > forwarded) process.stderr.write(output.subarray(forwarded));
      forwarded = output.length;
    },
  };
}
const binaries = wrappedBinaries(join(workDir, 'bin'));
afterEach(() => binaries.forwardLogs());

async function options(
  overrides: Partial<LocalObservabilityOptions> & { stateDir: string },
): Promise<LocalObservabilityOptions> {
  return {
    prometheusUrl: `http://127.0.0.1:${await freePort()}`,
    alertmanagerUrl: `http://127.0.0.1:${await freePort()}`,
    scrape: [],
    ruleFiles: [],
    webhook: { url: 'http://127.0.0.1:1/alerts/alertmanager', bearerToken: INGRESS_TOKEN },
    logger: silentLogger(),
    searchPath: binaries.searchPath,
    ...overrides,
  };
}

const getJson = async <T>(url: string): Promise<T> => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('running against the simulated platform', () => {
  let platform: SimulatedPlatform;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let observability: LocalObservability;
  let prometheus: ObservabilityService;
  let alertmanager: ObservabilityService;
  let stateDir: string;

  beforeAll(async () => {
    const startMs = Date.now();
    platform = await startSimulatedPlatform({ token: GATEWAY_TOKEN, logger: silentLogger(), seed: 7, startMs });
    platform.model.advance(startMs + 60_000); // a minute of traffic, so there is spend to scrape
    receiver = await startWebhookReceiver();
    stateDir = join(workDir, 'running');
    observability = await startLocalObservability(
      await options({
        stateDir,
        scrape: [{ job: 'simulator', target: new URL(platform.urls.gateway).host }],
        ruleFiles: [REPO_RULES, TEST_RULES],
        webhook: { url: `${receiver.url}/alerts/alertmanager`, bearerToken: INGRESS_TOKEN },
      }),
    );
    [alertmanager, prometheus] = observability.services as [ObservabilityService, ObservabilityService];
  });

  afterAll(async () => {
    await observability?.stop();
    binaries.forwardLogs();
    await new Promise((done) => receiver?.server.close(done));
    await platform?.close();
  });

  test('both run and answer where they were told to', () => {
    expect(observability.services.map(({ name, url }) => ({ name, url }))).toEqual([
      { name: 'alertmanager', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown },
      { name: 'prometheus', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown },
    ]);
  });

  test("Prometheus scrapes the simulator's spend", async () => {
    type Query = { data: { result: Array<{ metric: Record<string, string> }> } };
    const series = await waitFor('inference_cost_usd_total in Prometheus', async () => {
      const { data } = await getJson<Query>(
        `${prometheus.url}/api/v1/query?query=${encodeURIComponent('inference_cost_usd_total')}`,
      );
      return data.result.length > 0 ? data.result : undefined;
    });
    expect(series[0]!.metric).toMatchObject({
      __name__: 'inference_cost_usd_total',
      job: 'simulator',
      instance: new URL(platform.urls.gateway).host,
    });
  });

  test("Prometheus loaded the repository's rule groups and the test's", async () => {
    const repoRuleFiles = readdirSync(resolve(REPO_RULES, '..')).filter((file) => file.endsWith('.yml'));
    const repoGroups = repoRuleFiles.flatMap((file) =>
      (parse(readFileSync(resolve(REPO_RULES, '..', file), 'utf8')) as { groups: Array<{ name: string }> }).groups.map(
        ({ name }) => name,
      ),
    );
    const { data } = await getJson<{ data: { groups: Array<{ name: string; file: string }> } }>(
      `${prometheus.url}/api/v1/rules`,
    );
    expect(data.groups.map(({ name }) => name).sort()).toEqual([...repoGroups, 'local-observability-test'].sort());
  });

  test('Alertmanager sends to the webhook with the token from a file, never the token itself in its config', async () => {
    const { config } = await getJson<{ config: { original: string } }>(`${alertmanager.url}/api/v2/status`);
    expect(config.original).toContain(`url: ${receiver.url}/alerts/alertmanager`);
    expect(config.original).toContain(`credentials_file: ${join(stateDir, 'alertmanager', 'ingress-token')}`);
    expect(config.original).toContain('send_resolved: true');
    expect(config.original).not.toContain(INGRESS_TOKEN);
    expect(readFileSync(join(stateDir, 'alertmanager', 'ingress-token'), 'utf8')).toBe(INGRESS_TOKEN);
  });

  test('an alert the rules raise reaches the webhook as Alertmanager v4 JSON with the bearer token', async () => {
    const notification = await waitFor(
      'the SimulatorScraped notification at the webhook',
      () =>
        receiver.requests.find(
          ({ body }) =>
            (JSON.parse(body) as { groupLabels: Record<string, string> }).groupLabels.alertname === 'SimulatorScraped',
        ),
      60_000,
    );
    expect(notification.method).toBe('POST');
    expect(notification.url).toBe('/alerts/alertmanager');
    expect(notification.headers.authorization).toBe(`Bearer ${INGRESS_TOKEN}`);
    expect(notification.headers['content-type']).toBe('application/json');
    const body = JSON.parse(notification.body) as {
      version: string;
      status: string;
      receiver: string;
      externalURL: string;
      alerts: Array<{ labels: Record<string, string>; generatorURL: string }>;
    };
    expect(body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'finops-soar',
      externalURL: alertmanager.url,
    });
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]!.labels).toEqual({
      alertname: 'SimulatorScraped',
      severity: 'S3',
      job: 'simulator',
      instance: new URL(platform.urls.gateway).host,
    });
    expect(body.alerts[0]!.generatorURL.startsWith(`${prometheus.url}/graph?`)).toBe(true);
  });

  test('stop ends both processes and frees their ports', async () => {
    const pids = observability.services.map(({ process }) => process.pid!);
    await observability.stop();
    expect(pids.map(isRunning)).toEqual([false, false]);
    for (const { url } of observability.services) await expect(fetch(`${url}/-/ready`)).rejects.toThrow('fetch failed');
  });
});

test('without the binaries: one warning each saying how to install, nothing started', async () => {
  const { logger, lines } = recordingLogger();
  const emptyDir = mkdtempSync(join(workDir, 'no-binaries-'));
  const spawned: string[] = [];
  const started = await startLocalObservability(
    await options({
      stateDir: join(workDir, 'missing'),
      searchPath: emptyDir,
      logger,
      onSpawn: ({ name }) => spawned.push(name),
    }),
  );
  expect(started.services).toEqual([]);
  expect(spawned).toEqual([]);
  expect(lines.map(({ level, msg }) => ({ level, msg }))).toEqual([
    { level: 40, msg: expect.stringContaining('alertmanager is not installed') as unknown },
    { level: 40, msg: expect.stringContaining('prometheus is not installed') as unknown },
  ]);
  expect(lines[0]!.msg).toContain('sudo apt-get install prometheus-alertmanager');
  expect(lines[1]!.msg).toContain('sudo apt-get install prometheus`');
});

test('a port already taken: start-up names the port and the fix, and starts nothing', async () => {
  const squatter = createServer((_request, response) => response.end('ok'));
  await new Promise<void>((done) => squatter.listen(0, '127.0.0.1', done));
  const takenUrl = `http://127.0.0.1:${(squatter.address() as AddressInfo).port}`;
  const spawned: string[] = [];
  try {
    const starting = startLocalObservability(
      await options({
        stateDir: join(workDir, 'taken'),
        prometheusUrl: takenUrl,
        onSpawn: ({ name }) => spawned.push(name),
      }),
    );
    await expect(starting).rejects.toThrow(
      `prometheus cannot listen on ${new URL(takenUrl).host} (EADDRINUSE): stop what holds it (the system Prometheus: sudo systemctl stop prometheus) or point prometheus.url (FINOPS_SOAR_PROMETHEUS_URL) at a free local port`,
    );
    expect(spawned).toEqual([]);
  } finally {
    await new Promise((done) => squatter.close(done));
  }
});

test('a broken rule file: start-up fails with the reason, and Alertmanager, already running, is stopped again', async () => {
  const brokenRules = join(workDir, 'broken.rules.yml');
  writeFileSync(brokenRules, 'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(\n');
  const spawned: ObservabilityService[] = [];
  const starting = startLocalObservability(
    await options({
      stateDir: join(workDir, 'broken'),
      ruleFiles: [brokenRules],
      onSpawn: (service) => spawned.push(service),
    }),
  );
  await expect(starting).rejects.toThrow(/^prometheus exited with code 1 during start-up \(its log above says why\)$/);
  expect(spawned.map(({ name }) => name)).toEqual(['alertmanager', 'prometheus']);
  expect(spawned.map(({ process }) => isRunning(process.pid!))).toEqual([false, false]);
});
