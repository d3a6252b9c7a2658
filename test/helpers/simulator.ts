// The bundled gateway simulator on a free loopback port, and a client for it.
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { ControlApiClient } from '../../gateway/control-api-client';
import { PolicyStore } from '../../simulator/policy-store';
import { buildSimulatorApp } from '../../simulator/server';
import { GATEWAY_TOKEN } from './secrets';

export { GATEWAY_TOKEN };

export const silentLogger = () => pino({ level: 'silent' });

export interface RunningSimulator {
  url: string;
  store: PolicyStore;
  client: ControlApiClient;
  close(): Promise<void>;
}

export async function startSimulator(port = 0): Promise<RunningSimulator> {
  const store = new PolicyStore();
  const app = buildSimulatorApp({ token: GATEWAY_TOKEN, logger: silentLogger(), store });
  await app.listen({ host: '127.0.0.1', port });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { url, store, client: gatewayClient(url), close: () => app.close() };
}

export const gatewayClient = (url: string) =>
  new ControlApiClient({ baseUrl: url, token: GATEWAY_TOKEN, timeoutMs: 2_000 });
