// The embedded default: `temporal server start-dev` with its SQLite file under the data folder, so
// runs survive restarts. WAL and synchronous=NORMAL keep SQLite fast enough for the dev server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type { Config } from '../config/config-schema';
import { searchAttributeFlags } from '../workflows/search-attributes';

/**
 * The dev server's dynamic config, in every place it runs (npm start, the tests, the bench, docker-compose): eager
 * activity execution hands a run's next activity back in the answer to the workflow task that schedules it, sparing
 * the trip through matching (docs/scale.md). Off by default in Temporal; a cluster turns it on in its own dynamic
 * config (docs/operations.md).
 */
export const DEV_SERVER_DYNAMIC_CONFIG = ['system.enableActivityEagerExecution=true'];

export function devServerArgs(config: Pick<Config, 'dataDir' | 'temporal'>): string[] {
  const { host, port, uiPort } = config.temporal.embedded;
  return [
    'server',
    'start-dev',
    '--db-filename',
    join(resolve(config.dataDir), 'temporal.sqlite'),
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--namespace',
    config.temporal.namespace,
    // Its warnings are mostly about its own internal workers during shutdown; errors still show.
    '--log-level',
    'error',
    ...searchAttributeFlags().flatMap((flag) => ['--search-attribute', flag]),
    ...DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]),
  ];
}

/** Starts the dev server in its own process group: the caller decides when it stops (SIGTERM). */
export function spawnDevServer(config: Pick<Config, 'dataDir' | 'temporal'>): ChildProcess {
  mkdirSync(resolve(config.dataDir), { recursive: true });
  return spawn(config.temporal.embedded.cliPath, devServerArgs(config), {
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
}

/** Resolves once the frontend answers; rejects after `timeoutMs` with the last error. */
export async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await sleep(250);
    }
  }
  throw new Error(
    `Temporal at ${address} did not answer within ${timeoutMs / 1000}s: ${(lastError as Error)?.message ?? 'no answer'}`,
  );
}
