// Process entry point: the simulated inference platform (simulator/simulated-platform.ts) on the
// simulator's three ports, its load model advanced by the wall clock once a second.
import { ConfigError } from '../config/config-load';
import { startSimulatedPlatform } from '../simulator/simulated-platform';
import { exitOnStartupError, onShutdown, startProcess } from './startup';

async function main() {
  const { config, logger } = startProcess('simulator');
  const token = config.gateway.token;
  if (!token)
    throw new ConfigError(
      'gateway.token: the simulator needs the token it accepts. Set FINOPS_SOAR_GATEWAY_TOKEN or gateway.tokenFile.',
    );
  const { host, port, kubernetesPort, s3Port, seed } = config.simulator;
  const platform = await startSimulatedPlatform({
    token,
    logger,
    host,
    ports: { gateway: port, kubernetes: kubernetesPort, s3: s3Port },
    seed,
    startMs: Date.now(),
  });
  const timer = setInterval(() => {
    try {
      platform.model.advance(Date.now());
    } catch (error) {
      logger.error({ err: error }, 'the load model could not advance');
    }
  }, 1_000);
  logger.info(platform.urls, 'simulated platform listening');
  onShutdown(logger, async () => {
    clearInterval(timer);
    await platform.close();
  });
}

main().catch((error: unknown) => exitOnStartupError('simulator', error));
