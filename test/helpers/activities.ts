// The activities as the worker builds them, against a test gateway and Temporal client, with the
// default guardrails (protected: core, risk, fraud; sensitive: risk, summarize) and generous
// limits unless a test sets its own, logging notifications to `logger`.
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import type { Limits } from '../../activities/limits';
import type { GatewayAdapter } from '../../gateway/adapter';
import type { Logger } from '../../logging/logger';
import { LogNotifier } from '../../notifications/notifier';

export const TEST_GUARDRAILS = { protectedRoutes: ['core', 'risk', 'fraud'], sensitiveRoutes: ['risk', 'summarize'] };

export interface TestActivityOptions {
  gateway: GatewayAdapter;
  client: Client;
  taskQueue: string;
  logger: Logger;
  limits?: Partial<Limits>;
}

export const testActivities = ({ gateway, client, taskQueue, logger, limits }: TestActivityOptions) =>
  createActivities({
    gateway,
    notifier: new LogNotifier(logger),
    guardrails: TEST_GUARDRAILS,
    limits: { client, taskQueue, maxConcurrentRuns: 1_000, maxActionsPerTargetPerHour: 1_000, ...limits },
  });
