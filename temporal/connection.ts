// How every process reaches Temporal: the embedded dev server when temporal.address is unset,
// otherwise an existing cluster or Temporal Cloud (mTLS client certificates or an API key).
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config/config-schema';

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

export const isEmbedded = (temporal: Config['temporal']) => temporal.address === undefined;

export function temporalConnectionOptions(temporal: Config['temporal']): TemporalConnectionOptions {
  if (temporal.address === undefined) return { address: `${temporal.embedded.host}:${temporal.embedded.port}` };
  const { tls = {}, apiKey } = temporal;
  const usesTls = apiKey !== undefined || Object.values(tls).some((value) => value !== undefined);
  const tlsConfig: TLSConfig = {
    ...(tls.clientCertPath && tls.clientKeyPath
      ? { clientCertPair: { crt: readFileSync(tls.clientCertPath), key: readFileSync(tls.clientKeyPath) } }
      : {}),
    ...(tls.serverCaCertPath ? { serverRootCACertificate: readFileSync(tls.serverCaCertPath) } : {}),
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
  };
  return {
    address: temporal.address,
    ...(usesTls ? { tls: Object.keys(tlsConfig).length > 0 ? tlsConfig : true } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
  };
}

/** A run's page in the Temporal UI: the configured UI, else the embedded dev server's. */
export function temporalRunUrl(temporal: Config['temporal']): (workflowId: string) => string {
  const base = (temporal.uiUrl ?? `http://${temporal.embedded.host}:${temporal.embedded.uiPort}`).replace(/\/$/, '');
  return (workflowId) =>
    `${base}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
