// The real Alertmanager (Debian's prometheus-alertmanager 0.25) on a given loopback port, with a configuration the
// test writes, its bearer token for the ingress in a file beside it, and a way to post alerts to its API.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { supervise } from './output';
import { INGRESS_TOKEN } from './secrets';
import { waitFor } from './wait';

const ALERTMANAGER = 'prometheus-alertmanager';

export interface RunningAlertmanager {
  url: string;
  /** Posts alerts to its v2 API, as Prometheus would, and asserts they were taken. */
  postAlerts(alerts: unknown[]): Promise<void>;
  /** Stops it and removes its folder: a child still running keeps the test's process from exiting. */
  stop(): Promise<void>;
}

/**
 * Starts Alertmanager on `port` (known beforehand, so the ingress can be told it) with the configuration `config`
 * returns for the file holding the ingress's token (for `http_config.authorization.credentials_file`).
 */
export async function startAlertmanager(
  port: number,
  config: (tokenFile: string) => string,
): Promise<RunningAlertmanager> {
  if (spawnSync(ALERTMANAGER, ['--version']).error)
    throw new Error(`${ALERTMANAGER} is not installed: apt-get install prometheus-alertmanager (bash .ci/run does it)`);
  const workDir = mkdtempSync(join(tmpdir(), 'finops-soar-am-'));
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(workDir, 'token'), INGRESS_TOKEN);
  writeFileSync(join(workDir, 'alertmanager.yml'), config(join(workDir, 'token')));
  const child = supervise(
    'alertmanager',
    spawn(
      ALERTMANAGER,
      [
        `--config.file=${join(workDir, 'alertmanager.yml')}`,
        `--storage.path=${join(workDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=${url}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  try {
    await waitFor('Alertmanager to be ready', async () => (await fetch(`${url}/-/ready`)).ok || undefined);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return {
    url,
    async postAlerts(alerts) {
      const response = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      expect(response.status).toBe(200);
    },
    async stop() {
      await child.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
