// Process entry point: the HTTP ingress on ingress.port: the Alertmanager webhook, the runs API,
// and Slack's interactivity endpoint when Slack is configured.
import { Client, Connection } from '@temporalio/client';
import { ConfigError } from '../config/load';
import { buildIngressApp } from '../ingress/app';
import { loadPlaybooks } from '../playbook/load';
import { SlackApi } from '../slack/api';
import { SlackDirectory } from '../slack/directory';
import { temporalConnectionOptions } from '../temporal/connection';
import { exitOnStartupError, onShutdown, startProcess } from './startup';

async function main() {
  const { config, logger } = startProcess('ingress');
  const { token, basicAuth } = config.ingress;
  if (!token && !basicAuth) {
    throw new ConfigError('ingress.token: no webhook credentials, and the ingress refuses to run unauthenticated. Set FINOPS_SOAR_INGRESS_TOKEN (or ingress.tokenFile), or ingress.basicAuth.');
  }
  const playbooks = loadPlaybooks(config.playbooks.dir);
  // Lazy: the ingress starts while Temporal is down and answers 503 until it is back.
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = buildIngressApp({
    client,
    taskQueue: config.temporal.taskQueue,
    playbooks,
    credentials: { token, basicAuth },
    runDefaults: { cooldownMs: config.engine.cooldown, dryRun: config.engine.dryRun },
    temporalTimeoutMs: config.ingress.temporalTimeout,
    alertmanagerUrl: config.ingress.alertmanagerUrl,
    maxInFlight: config.ingress.maxInFlight,
    approvers: config.approvals.approvers,
    ...(config.slack && {
      slackSigningSecret: config.slack.signingSecret,
      directory: new SlackDirectory(new SlackApi(config.slack, logger), config.slack.groups),
    }),
    logger,
  });
  await app.listen({ host: config.ingress.host, port: config.ingress.port });
  logger.info({ playbooks: playbooks.map(({ spec, digest }) => ({ name: spec.name, digest })) }, 'playbooks loaded');
  onShutdown(logger, async () => {
    await app.close();
    await connection.close();
  });
}

main().catch((error: unknown) => exitOnStartupError('ingress', error));
