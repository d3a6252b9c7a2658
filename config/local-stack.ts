// The local stack's tokens and addresses, shared by `npm start` (which creates the tokens), the
// simulator, and the CLI (which reads them to talk to the stack on this machine).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from './config-schema';

export interface DevSecrets {
  ingressToken: string;
  gatewayToken: string;
  /** The token of LOCAL_OPERATOR, who decides approvals from the CLI on this machine. */
  operatorToken: string;
}

/** Who you are to the embedded stack when you approve from the CLI. */
export const LOCAL_OPERATOR = 'local-operator';

const secretsFile = (config: Config) => join(resolve(config.dataDir), 'dev-secrets.json');

/** The tokens `npm start` generated, or undefined when it never ran here. */
export function readDevSecrets(config: Config): DevSecrets | undefined {
  const file = secretsFile(config);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DevSecrets) : undefined;
}

/**
 * Tokens for the embedded stack, generated once (any missing one later) and kept in the data folder (mode 0600);
 * configured tokens win.
 */
export function devSecrets(config: Config): DevSecrets {
  const saved: Partial<DevSecrets> = readDevSecrets(config) ?? {};
  const token = () => randomBytes(24).toString('base64url');
  const secrets: DevSecrets = {
    ingressToken: saved.ingressToken ?? token(),
    gatewayToken: saved.gatewayToken ?? token(),
    operatorToken: saved.operatorToken ?? token(),
  };
  if (Object.keys(saved).length < Object.keys(secrets).length) {
    mkdirSync(resolve(config.dataDir), { recursive: true });
    writeFileSync(secretsFile(config), JSON.stringify(secrets, null, 2), { mode: 0o600 });
    chmodSync(secretsFile(config), 0o600);
  }
  return {
    ...secrets,
    ingressToken: config.ingress.token ?? secrets.ingressToken,
    gatewayToken: config.gateway.token ?? secrets.gatewayToken,
  };
}

/** How this machine reaches a server listening on `host`: a wildcard address is reached on loopback. */
export const reachableHost = (host: string) => (host === '0.0.0.0' ? '127.0.0.1' : host);

/** Where the ingress answers from this machine. */
export const ingressUrl = ({ ingress }: Config) => `http://${reachableHost(ingress.host)}:${ingress.port}`;

/** Where the embedded Alertmanager listens unless ingress.alertmanagerUrl names another local address. */
export const LOCAL_ALERTMANAGER_URL = 'http://127.0.0.1:9093';

/** The alert rules the embedded Prometheus evaluates, relative to the repository `npm start` runs in. */
export const PROMETHEUS_RULE_FILES = 'deploy/prometheus/rules/*.yml';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether the stack can serve `url` itself: plain HTTP on this machine's loopback. */
export const isLocalHttpUrl = (url: string) => {
  const { protocol, hostname } = new URL(url);
  return protocol === 'http:' && LOOPBACK_HOSTS.has(hostname);
};

/**
 * Where the stack's Prometheus and Alertmanager answer: prometheus.url and the first ingress.alertmanagerUrl
 * (default LOCAL_ALERTMANAGER_URL). `npm start` runs each one that is local; one on another
 * machine is used as it is.
 */
export function observabilityUrls(
  config: Config,
): Record<'prometheus' | 'alertmanager', { url: string; local: boolean }> {
  const at = (url: string) => ({ url, local: isLocalHttpUrl(url) });
  return {
    prometheus: at(config.prometheus.url),
    alertmanager: at(config.ingress.alertmanagerUrl?.[0] ?? LOCAL_ALERTMANAGER_URL),
  };
}
