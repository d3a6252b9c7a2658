// The child processes the local stack runs (Temporal, the simulator, the worker, the ingress,
// Prometheus, Alertmanager): waiting until one answers, and stopping one politely, then firmly.
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger';

const STOP_TIMEOUT_MS = 20_000;
// A server that accepts the connection but never answers must not stall the start-up.
const PROBE_TIMEOUT_MS = 2_000;

export interface Service {
  name: string;
  process: ChildProcess;
}

/** Resolves once `url` answers 2xx; rejects when the process exits first or after `timeoutMs`. */
export async function waitForHttp(url: string, service: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.process.exitCode !== null)
      throw new Error(`${service.name} exited with code ${service.process.exitCode} during start-up`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${service.name} did not answer ${url} within ${timeoutMs / 1000}s`);
}

/** SIGTERM, then SIGKILL if it is still running after 20s; resolves once it exited. */
export function stopService({ name, process: child }: Service, logger: Logger): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => {
      logger.warn({ service: name }, 'did not stop in time; killing it');
      child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}
