// The CLI's side of the runs API (ingress/runs-api.ts): start a playbook by hand, read a run's
// status, resolve a manual run, abort a run. Talks HTTP to the ingress with its bearer token.
import type { Config } from '../config/config-schema';
import { ingressUrl, readDevSecrets } from '../config/local-stack';

export interface RunsApiTarget {
  url: string;
  token: string;
  /** Your operator token, for decisions: FINOPS_SOAR_OPERATOR_TOKEN, or the one `npm start` generated for you. */
  operatorToken: string | undefined;
}

/**
 * The ingress to talk to: --url, else the configured one; its token from config, else from `npm start`'s dev secrets.
 */
export function runsApiTarget(config: Config, url: string | undefined): RunsApiTarget {
  const saved = readDevSecrets(config);
  const token = config.ingress.token ?? saved?.ingressToken;
  if (!token)
    throw new Error(
      'no ingress token: set FINOPS_SOAR_INGRESS_TOKEN (or ingress.tokenFile), or run `npm start` here once to generate one',
    );
  return {
    url: (url ?? ingressUrl(config)).replace(/\/$/, ''),
    token,
    operatorToken: process.env.FINOPS_SOAR_OPERATOR_TOKEN ?? saved?.operatorToken,
  };
}

/** `k=v` pairs from repeated options, e.g. --label route=chat --label tenant=acme. */
export function keyValues(option: string, pairs: readonly string[] = []): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--${option} ${pair}: write NAME=VALUE, e.g. --${option} route=chat`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/** Calls the runs API; answers the HTTP status and the JSON body, or explains why the ingress could not be reached. */
export async function callRunsApi(
  { url, token, operatorToken }: RunsApiTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(operatorToken && { 'X-Operator-Token': operatorToken }),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new Error(
      `cannot reach the ingress at ${url} (${(error as Error).message}); is the stack running (npm start), or pass --url`,
    );
  }
  return { status: response.status, body: await response.json().catch(() => null) };
}

export const runPath = (workflowId: string) => `/v1/runs/${encodeURIComponent(workflowId)}`;
