// A real OPA server (OPA_PATH, set by scripts/bootstrap.mjs) on a free port, for policy tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { supervise } from './output';
import { freePort } from './ports';
import { waitFor } from './wait';

export const POLICIES = join(__dirname, '..', '..', 'policy', 'rego');

export function opaPath(): string {
  const path = process.env.OPA_PATH;
  if (!path)
    throw new Error(
      'OPA_PATH is not set: run the tests through `npm test` (scripts/bootstrap.mjs finds or builds OPA), or set OPA_PATH=/path/to/opa',
    );
  return path;
}

export interface RunningOpa {
  url: string;
  /** Every line OPA wrote: its server log and, with decision logs on, one entry per decision. */
  output: string[];
  /** Stops OPA and waits until it has. */
  close(): Promise<void>;
}

export const healthy = async (url: string, headers: Record<string, string> = {}) =>
  (await fetch(`${url}/health`, { headers }).catch(() => undefined))?.ok === true;

export async function startOpa(
  args: string[],
  paths: string[],
  ready: (url: string) => Promise<boolean>,
): Promise<RunningOpa> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const opa: ChildProcess = spawn(
    opaPath(),
    ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', ...args, ...paths],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const child = supervise('opa', opa);
  for (const stream of [opa.stdout, opa.stderr])
    stream?.on('data', (chunk: string) => output.push(...chunk.split('\n').filter(Boolean)));
  const close = () => child.stop();
  try {
    await waitFor(`OPA on ${url}`, () => ready(url));
  } catch (error) {
    await close();
    throw new Error(`${(error as Error).message}; OPA said: ${output.join('\n')}`);
  }
  return { url, output, close };
}

/** OPA serving the repo's policies with decision logs on (so it answers decision ids). */
export const startPolicyServer = () => startOpa(['--set', 'decision_logs.console=true'], [POLICIES], healthy);

/** The entry of OPA's decision log under `decisionId`; OPA writes it a moment after it answers. */
export const loggedDecision = (opa: RunningOpa, decisionId: string) =>
  waitFor(`decision ${decisionId} in OPA's decision log`, () =>
    opa.output
      .filter((line) => line.includes(decisionId))
      .map((line) => JSON.parse(line) as { decision_id?: string; path?: string; input?: unknown })
      .find(({ decision_id }) => decision_id === decisionId),
  );
