// Process entry point: the HTTP ingress on ingress.port: the Alertmanager webhook, the runs API,
// and Slack's interactivity endpoint when Slack is configured.
import { Client, Connection } from '@temporalio/client';
import { ConfigError } from '../config/config-load';
import type { Config } from '../config/config-schema';
import type { Logger } from '../observability/logger';
import { buildIngressApp } from '../ingress/app';
import { loadPlaybooks } from '../playbook/playbook-load';
import { SlackApi } from '../notify/slack/slack-api';
import { SlackDirectory } from '../notify/slack/slack-directory';
import { slackViews } from '../ingress/slack-capa';
import { temporalConnectionOptions } from '../temporal/connection';
import { exitOnStartupError, onShutdown, startProcess } from './startup';

/** Approver settings that work but deserve a second look, said once at start. */
function warnAboutApprovers({ approvals, slack }: Config, logger: Logger): void {
  for (const [playbook, bySeverity] of Object.entries(approvals.approvers)) {
    for (const [severity, entries] of Object.entries(bySeverity)) {
      if (severity === 'S1' && entries.includes('*'))
        logger.warn(
          `approvals.approvers.${playbook}.S1 lets anyone approve S1 steps (*): fine for trying things out, not for production`,
        );
      const groups = entries.filter(
        (entry) => entry !== '*' && !/^[UWS][A-Z0-9]+$/.test(entry) && !(entry in approvals.operatorTokens),
      );
      const unknown = groups.filter((group) => !slack || !(group in slack.groups));
      if (unknown.length > 0)
        logger.warn(
          `approvals.approvers.${playbook}.${severity}: ${unknown.join(', ')} ${slack ? 'are not in slack.groups' : 'are groups, and need Slack to be checked'}: nobody is approved through them`,
        );
    }
  }
}

async function main() {
  const { config, logger } = startProcess('ingress');
  const { token, basicAuth } = config.ingress;
  if (!token && !basicAuth) {
    throw new ConfigError(
      'ingress.token: no webhook credentials, and the ingress refuses to run unauthenticated. Set FINOPS_SOAR_INGRESS_TOKEN (or ingress.tokenFile), or ingress.basicAuth.',
    );
  }
  // Refused here, not at 3 a.m.: a step the configured gateway cannot do (gateway/gateway-knobs.ts).
  const playbooks = loadPlaybooks(config.playbooks.dir, { gateway: config.gateway.kind });
  warnAboutApprovers(config, logger);
  // Lazy: the ingress starts while Temporal is down and answers 503 until it is back.
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  const slack = config.slack && { settings: config.slack, api: new SlackApi(config.slack, logger) };
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = buildIngressApp({
    client,
    taskQueue: config.temporal.taskQueue,
    playbooks,
    credentials: { token, basicAuth },
    runDefaults: {
      cooldownMs: config.engine.cooldown,
      dryRun: config.engine.dryRun,
      // Without an Alertmanager to ask, a run cannot check for a lost resolution.
      staleAfterMs: config.ingress.alertmanagerUrl ? config.engine.staleAlertAfter : undefined,
      gateway: config.gateway.kind,
      capa: {
        families: config.finops.capa.families,
        notifyTo: config.finops.capa.notify,
        remindEveryMs: config.finops.capa.remindEvery,
      },
    },
    temporalTimeoutMs: config.ingress.temporalTimeout,
    alertmanagerUrls: config.ingress.alertmanagerUrl,
    maxInFlight: config.ingress.maxInFlight,
    repeatWindowMs: config.ingress.repeatWindow,
    rateLimits: config.ingress.rateLimits,
    approvers: config.approvals.approvers,
    operatorTokens: config.approvals.operatorTokens,
    capaClosers: config.finops.capa.closers,
    ...(slack && {
      slackSigningSecret: slack.settings.signingSecret,
      directory: new SlackDirectory(slack.api, slack.settings.groups),
      slackViews: slackViews(slack.api),
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
