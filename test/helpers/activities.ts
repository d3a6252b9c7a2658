// The activities as the worker builds them, against a test gateway, with the default guardrails
// (protected: core, risk, fraud) and one sensitive route (risk), logging notifications to `logger`.
import { createActivities } from '../../activities';
import type { GatewayAdapter } from '../../gateway/adapter';
import type { Logger } from '../../logging/logger';
import { LogNotifier } from '../../notifications/notifier';
import { silentLogger } from './simulator';

export const TEST_GUARDRAILS = { protectedRoutes: ['core', 'risk', 'fraud'], sensitiveRoutes: ['risk', 'summarize'] };

export const testActivities = (gateway: GatewayAdapter, logger: Logger = silentLogger()) =>
  createActivities({ gateway, notifier: new LogNotifier(logger), guardrails: TEST_GUARDRAILS });
