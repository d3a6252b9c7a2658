// The stack one bench phase runs on, all on loopback: a Temporal dev server (in-memory SQLite), the
// simulator as gateway (in this process, its store timestamps each first change), and the real
// worker and ingress (dist/workers/*.js) as child processes configured the way an operator would:
// a config file of the bench's own plus the environment variables of docs/configuration.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { PolicyScope, RoutePolicyPatch } from '../gateway/control-api';
import { PolicyStore, type WriteOptions } from '../simulator/policy-store';
import { buildSimulatorApp } from '../simulator/server';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../temporal/dev-server';
import { printProfiles, summarizeServerMetrics } from './profile';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export const TOKEN = 'bench-token-0123456789abcdef';
const DIST = join(__dirname, '..');
const REPO = join(DIST, '..');

/** The simulator's store, noting when (performance.now()) each tenant's policy first changed. */
export class TimedStore extends PolicyStore {
  readonly firstChange = new Map<string, number>();
  override patch(scope: PolicyScope, patch: RoutePolicyPatch, options?: WriteOptions) {
    const written = super.patch(scope, patch, options);
    if (!written.replayed && scope.tenant !== undefined && !this.firstChange.has(scope.tenant))
      this.firstChange.set(scope.tenant, performance.now());
    return written;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** VmRSS of a process, in MiB. */
export function rssMiB(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Number(line[1]) / 1024 : NaN;
}

export interface Stack {
  env: TestWorkflowEnvironment;
  store: TimedStore;
  worker: ChildProcess;
  ingress: ChildProcess;
  webhookUrl: string;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, child: ChildProcess, name: string, log: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${log}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not answering yet
    }
    await sleep(200);
  }
  throw new Error(`${name} did not answer ${url} within 120 s; see ${log}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Starts one phase's stack; `maxConcurrentRuns` is the worker's engine.maxConcurrentRuns. */
export async function startStack(name: string, maxConcurrentRuns: number): Promise<Stack> {
  const cli = process.env.TEMPORAL_CLI_PATH;
  if (!cli) throw new Error('TEMPORAL_CLI_PATH is not set: run `npm run bench`');
  const dir = mkdtempSync(join(tmpdir(), `finops-soar-bench-${name}-`));
  const [temporalPort, serverMetricsPort] = [await freePort(), await freePort()];
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      ip: '127.0.0.1',
      port: temporalPort,
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      extraArgs: [
        ...DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]),
        ...['--metrics-port', String(serverMetricsPort)],
      ],
      // Its errors (aborted updates under load) are many; BENCH_TEMPORAL_LOG=error shows them.
      log: { format: 'pretty', level: process.env.BENCH_TEMPORAL_LOG ?? 'never' },
    },
  });
  const store = new TimedStore();
  const simulator: FastifyInstance = buildSimulatorApp({ token: TOKEN, logger: pino({ level: 'silent' }), store });
  await simulator.listen({ host: '127.0.0.1', port: 0 });
  const simulatorUrl = `http://127.0.0.1:${(simulator.server.address() as AddressInfo).port}`;

  // The engine's own config loading: a file (no Slack, no OPA, no budgets) and the variables.
  const config = join(dir, 'finops-soar.yaml');
  writeFileSync(config, '# finops-soar bench: defaults, except what the environment sets\nlog:\n  level: warn\n');
  const [ingressPort, metricsPort] = [await freePort(), await freePort()];
  const childEnv: NodeJS.ProcessEnv = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !/^(FINOPS_SOAR_|TEMPORAL_|KUBERNETES_SERVICE_|LOG_LEVEL$)/.test(key),
      ),
    ),
    FINOPS_SOAR_CONFIG: config,
    FINOPS_SOAR_DATA_DIR: join(dir, 'data'),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    FINOPS_SOAR_TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
    FINOPS_SOAR_TASK_QUEUE: 'finops-soar',
    FINOPS_SOAR_INGRESS_HOST: '127.0.0.1',
    FINOPS_SOAR_INGRESS_PORT: String(ingressPort),
    FINOPS_SOAR_INGRESS_TOKEN: TOKEN,
    FINOPS_SOAR_GATEWAY_URL: simulatorUrl,
    FINOPS_SOAR_GATEWAY_TOKEN: TOKEN,
    // The bench's playbook reads no metric and touches no bucket or cluster: nothing listens there.
    FINOPS_SOAR_PROMETHEUS_URL: 'http://127.0.0.1:9',
    FINOPS_SOAR_S3_ENDPOINT: 'http://127.0.0.1:9',
    FINOPS_SOAR_S3_FORCE_PATH_STYLE: 'true',
    FINOPS_SOAR_METRICS_HOST: '127.0.0.1',
    FINOPS_SOAR_METRICS_PORT: String(metricsPort),
    // The one-step playbook of the tests (cap-context): this measures the engine, not a playbook.
    FINOPS_SOAR_PLAYBOOKS_DIR: join(REPO, 'test', 'fixtures', 'playbooks'),
    FINOPS_SOAR_MAX_CONCURRENT_RUNS: String(maxConcurrentRuns),
    FINOPS_SOAR_MAX_ACTIONS_PER_TARGET_PER_HOUR: '100',
  };
  // BENCH_PROFILE=1: each child writes a CPU profile when it exits (bench/profile.ts reads them).
  const profiles = join(dir, 'profiles');
  const profiling = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : [];
  const spawnLogged = (script: string) => {
    const log = join(dir, `${script}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, [...profiling, join(DIST, 'workers', `${script}.js`)], {
      env: childEnv,
      stdio: ['ignore', fd, fd],
    });
    return { child, log };
  };
  const worker = spawnLogged('worker');
  const ingress = spawnLogged('ingress');
  // Should the bench itself die, the children go with it.
  process.once('exit', () => [worker.child, ingress.child].forEach((child) => child.kill('SIGKILL')));
  await waitForHttp(`http://127.0.0.1:${metricsPort}/readyz`, worker.child, 'worker', worker.log);
  await waitForHttp(`http://127.0.0.1:${ingressPort}/readyz`, ingress.child, 'ingress', ingress.log);
  console.error(`[bench] ${name}: stack up (logs in ${dir})`);
  return {
    env,
    store,
    worker: worker.child,
    ingress: ingress.child,
    webhookUrl: `http://127.0.0.1:${ingressPort}/alerts/alertmanager`,
    async stop() {
      const serverMetrics =
        profiling.length > 0
          ? summarizeServerMetrics(name, await (await fetch(`http://127.0.0.1:${serverMetricsPort}/metrics`)).text())
          : [];
      await Promise.all([stopChild(ingress.child), stopChild(worker.child)]);
      await simulator.close();
      await env.teardown();
      if (profiling.length > 0) {
        const names = { [worker.child.pid!]: `worker (${name})`, [ingress.child.pid!]: `ingress (${name})` };
        printProfiles(profiles, names, serverMetrics);
      }
    },
  };
}
