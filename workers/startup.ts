// What every process entry point does first: load the configuration and a logger, and turn a
// configuration or playbook error into a clear message and exit code 78 (EX_CONFIG), not a stack.
import { ConfigError, loadConfig } from '../config/config-load';
import type { Config } from '../config/config-schema';
import { createLogger, type Logger } from '../observability/logger';
import { PlaybookError } from '../playbook/playbook-load';

const EXIT_CONFIG = 78;

export function startProcess(name: string): { config: Config; logger: Logger } {
  try {
    const config = loadConfig();
    return { config, logger: createLogger(name, config.log.level, undefined, config.log.format) };
  } catch (error) {
    exitOnStartupError(name, error);
  }
}

/** Prints a configuration or playbook error for people and exits; rethrows anything else. */
export function exitOnStartupError(name: string, error: unknown): never {
  if (error instanceof ConfigError || error instanceof PlaybookError) {
    console.error(`${name}: ${error.message}`);
    process.exit(EXIT_CONFIG);
  }
  throw error;
}

/** Calls `stop` once on SIGINT or SIGTERM, then exits. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handle);
  process.once('SIGTERM', handle);
}
