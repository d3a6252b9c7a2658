// A real Temporal dev server per test file, started from the installed CLI (npm test finds or
// builds it and sets TEMPORAL_CLI_PATH), with the project's search attributes registered.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

export function temporalCliPath(): string {
  const path = process.env.TEMPORAL_CLI_PATH;
  if (!path)
    throw new Error(
      'TEMPORAL_CLI_PATH is not set: run the tests with `npm test` (it finds or builds the Temporal CLI), or set it to the temporal binary.',
    );
  return path;
}

let runtimeInstalled = false;

/** Worker lifecycle logs drown the test report; warnings and errors still show. */
function quietTemporalLogs(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

export function startTemporal(): Promise<TestWorkflowEnvironment> {
  quietTemporalLogs();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      ip: '127.0.0.1',
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      extraArgs: ['--log-level', 'error'],
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file and shared by its workers. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  quietTemporalLogs();
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietBundlerLogger });
  return bundle;
}

const quietBundlerLogger = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };
