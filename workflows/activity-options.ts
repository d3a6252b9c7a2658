// Activity options more than one workflow uses.
import type { ActivityOptions } from '@temporalio/common';

/** Telling people is not the mitigation: a Slack outage costs a few seconds, not minutes. */
export const TELLING_PEOPLE: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '4s', maximumAttempts: 3 },
};
