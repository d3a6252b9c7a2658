// A real Temporal dev server per test file, started from the installed CLI (npm test finds or
// builds it and sets TEMPORAL_CLI_PATH), with the project's search attributes registered.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../temporal/dev-server';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { supervise, type SupervisedChild } from './output';
import { freePort } from './ports';
import { waitFor } from './wait';

export function temporalCliPath(): string {
  const path = process.env.TEMPORAL_CLI_PATH;
  if (!path)
    throw new Error(
      'TEMPORAL_CLI_PATH is not set: run the tests with `npm test` (it finds or builds the Temporal CLI), or set it to the temporal binary.',
    );
  return path;
}

let runtimeInstalled = false;

/**
 * The SDK's runtime (one per test file: each has its own module registry), logging to stderr, which the
 * test environment holds back until a test fails: so at INFO, for the failures' sake. Installed before
 * anything (a connection, a worker) makes the default one.
 */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('INFO') });
  runtimeInstalled = true;
}

export interface DevServerOptions {
  /** The gRPC port (default: a free one); a restarted server takes the same one. */
  port?: number;
  /** Keep the server's state in this SQLite file, so that a restarted server carries on (default: in memory). */
  dbFilename?: string;
}

export interface DevServer {
  address: string;
  child: SupervisedChild;
}

/** The dev server's process, with the project's search attributes; its output goes to the test's logs. */
export async function spawnDevServer({ port, dbFilename }: DevServerOptions = {}): Promise<DevServer> {
  const address = `127.0.0.1:${port ?? (await freePort())}`;
  const server = spawn(
    temporalCliPath(),
    [
      ...['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', address.split(':')[1]!],
      ...(dbFilename ? ['--db-filename', dbFilename] : []),
      ...['--log-format', 'pretty', '--log-level', 'error'],
      ...['frontend.enableServerVersionCheck=false', ...DEV_SERVER_DYNAMIC_CONFIG].flatMap((value) => [
        '--dynamic-config-value',
        value,
      ]),
      ...Object.values(SEARCH_ATTRIBUTES).flatMap(({ name, type }) => [
        '--search-attribute',
        `${name}=${TypedSearchAttributes.toMetadataType(type)}`,
      ]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { address, child: supervise('temporal', server) };
}

/**
 * The dev server as the SDK's TestWorkflowEnvironment.createLocal starts it, but spawned here so that its
 * output goes to the test's logs (the SDK's copies it to the process's own file descriptors, past them).
 */
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  const { address, child } = await spawnDevServer();
  // As the SDK stops it: nothing is kept, nothing needs a graceful shutdown.
  const stop = () => child.stop('SIGKILL');
  let env: TestWorkflowEnvironment;
  try {
    env = await connect(address, () => child.gone);
  } catch (error) {
    await stop();
    throw error;
  }
  const closeConnections = env.teardown.bind(env);
  env.teardown = async () => {
    await closeConnections();
    await stop();
  };
  return env;
}

/** The environment on the server at `address`, once it answers (its output, in the test's logs, says why not). */
async function connect(address: string, goneBecause: () => string | undefined): Promise<TestWorkflowEnvironment> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const gone = goneBecause();
    if (gone !== undefined)
      throw new Error(`the Temporal dev server stopped (${gone}) before it answered on ${address}`);
    try {
      return await TestWorkflowEnvironment.createFromExistingServer({ address });
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`the Temporal dev server did not answer on ${address}`, { cause: error });
      await sleep(100);
    }
  }
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file and shared by its workers. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  installTestRuntime();
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: bundlerLogger });
  return bundle;
}

// Webpack's progress is noise even in a failing test's logs; its warnings and errors are not.
const bundlerLogger = { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} };

/** A worker running on `taskQueue`, once the server lists it among the queue's pollers (what runReviewNow asks). */
export async function pollingWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  activities: object,
): Promise<{ shutdown(): void; running: Promise<void> }> {
  const created = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const running = created.run();
  await waitFor(`a worker polling ${taskQueue}`, async () => {
    const { pollers = [] } = await env.client.workflowService.describeTaskQueue({
      namespace: env.namespace ?? 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return pollers.length > 0 || undefined;
  });
  return { shutdown: () => created.shutdown(), running };
}
