// Slack settings, embedded by the engine's configuration under `slack:` (absent: notifications go to the log).
// Every field's description is what a configuration error shows as the fix.
import { z } from 'zod';
import { durationSchema } from '../../validation/duration';

const notifyName = z.string().min(1).describe('a notify name as playbooks write it in `to:` or `invite:`, e.g. finops');

export const channelIdSchema = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,}$/)
  .describe(
    "a Slack channel ID such as C0123ABCD (channel details → About → Channel ID), not a #name: names change, IDs don't",
  );

export const userGroupIdSchema = z
  .string()
  .regex(/^S[A-Z0-9]{2,}$/)
  .describe("a Slack user group ID such as S0123ABCD (the group's page → ⋯ → Copy group ID)");

export const slackSettingsSchema = z
  .object({
    token: z
      .string()
      .regex(/^xoxb-/)
      .describe(
        "the app's bot token, xoxb-… (OAuth & Permissions; set FINOPS_SOAR_SLACK_TOKEN or slack.tokenFile, never in the YAML)",
      ),
    signingSecret: z
      .string()
      .min(16)
      .describe(
        "the app's signing secret that authenticates button clicks (Basic Information → App Credentials; set FINOPS_SOAR_SLACK_SIGNING_SECRET or slack.signingSecretFile)",
      ),
    apiUrl: z
      .url()
      .default('https://slack.com/api/')
      .describe("the base URL of Slack's Web API; change it only for a proxy or a test server"),
    channels: z
      .record(notifyName, channelIdSchema)
      .default({})
      .describe(
        'where each notify name posts, e.g. {finops: C0FINOPS, incidents: C0INCIDENTS}; the bot must be a member of each channel',
      ),
    groups: z
      .record(notifyName, userGroupIdSchema)
      .default({})
      .describe(
        'the Slack user group behind each notify name that names people, e.g. {sre: S0SRE}: invited to war-rooms, mentioned on escalation, allowed to approve',
      ),
    defaultChannel: channelIdSchema.describe(
      'the channel ID (C…, not a #name) where notify names without a slack.channels entry post, e.g. C0ALERTS',
    ),
    timeout: durationSchema
      .default(2_500)
      .describe(
        "the timeout of one Web API request, e.g. 2.5s (short: approvals must fit in Slack's 3-second interaction window)",
      ),
  })
  .strict();

export type SlackSettings = z.output<typeof slackSettingsSchema>;
