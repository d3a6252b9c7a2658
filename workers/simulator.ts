// Process entry point: the bundled gateway simulator (Gateway Control API on simulator.port).
import { buildSimulatorApp } from '../simulator/server';
import { exitOnStartupError, onShutdown, startProcess } from './startup';
import { ConfigError } from '../config/load';

async function main() {
  const { config, logger } = startProcess('simulator');
  const token = config.gateway.token;
  if (!token) throw new ConfigError('gateway.token: the simulator needs the Control API token it accepts. Set FINOPS_SOAR_GATEWAY_TOKEN or gateway.tokenFile.');
  const app = buildSimulatorApp({ token, logger });
  await app.listen({ host: config.simulator.host, port: config.simulator.port });
  onShutdown(logger, () => app.close());
}

main().catch((error: unknown) => exitOnStartupError('simulator', error));
