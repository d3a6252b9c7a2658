// One bounded Slack Web API client and the translation of its failures into SlackError: the method, Slack's
// error code and what a person does about it, plus whether retrying can help (activities classify on it).
import { setTimeout as sleep } from 'node:timers/promises';
import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type Logger as SlackLogger,
} from '@slack/web-api';
import type { Logger } from '../../observability/logger';
import type { SlackSettings } from './slack-settings';

export class SlackError extends Error {
  override name = 'SlackError';
  constructor(
    message: string,
    readonly method: string,
    readonly retryable: boolean,
    /** Slack's error code (e.g. channel_not_found), or undefined for transport and HTTP failures. */
    readonly slackError?: string,
    /** How long Slack asked to wait before the next call, when it rate-limited this one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** What a call was about, so a failure names the object and the setting to fix. */
export interface CallContext {
  /** E.g. "posting the approval request to finops (C0FINOPS)". */
  doing: string;
  channel?: { id: string; setting: string };
  group?: { id: string; setting: string };
}

// Bounded so a Slack outage fails the activity in seconds (Temporal retries it) instead of the SDK's default
// ten retries over half an hour.
const RETRY_CONFIG = { retries: 2, factor: 1.5, minTimeout: 100, maxTimeout: 1_000 };
// A 429 whose Retry-After fits within one request's timeout is waited out here; a longer one is handed to the
// caller (SlackError.retryAfterMs) instead of blocking an activity slot or the request queue.
const RATE_LIMIT_ATTEMPTS = 3;

const RETRYABLE_SLACK_ERRORS = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);
const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
]);

function fixFor(slackError: string, method: string, context: CallContext, neededScope: unknown): string {
  const { channel, group } = context;
  if (AUTH_ERRORS.has(slackError))
    return 'check slack.token: it must be the bot token (xoxb-…) of the app as installed in this workspace';
  if (slackError === 'missing_scope') {
    return `add the bot scope ${typeof neededScope === 'string' ? neededScope : 'named in the method docs'} under OAuth & Permissions and reinstall the app`;
  }
  if (slackError === 'channel_not_found' && channel) {
    return `check ${channel.setting}: ${channel.id} is not a channel the bot can see (use the channel ID; invite the bot to a private channel first)`;
  }
  if (slackError === 'not_in_channel' && channel)
    return `invite the bot to channel ${channel.id} (${channel.setting}): /invite @<the bot> in that channel`;
  if (slackError === 'is_archived' && channel)
    return `channel ${channel.id} is archived: unarchive it or point ${channel.setting} at another channel`;
  if (slackError === 'no_such_subteam' && group)
    return `check ${group.setting}: ${group.id} is not a user group of this workspace`;
  if (slackError === 'message_not_found' || slackError === 'cant_update_message') {
    return 'the message was deleted or was not posted by this bot, so it cannot be changed';
  }
  if (slackError === 'restricted_action')
    return 'a workspace setting forbids the bot this action: ask a Slack admin to allow it for apps';
  if (RETRYABLE_SLACK_ERRORS.has(slackError)) return 'Slack is having trouble; the call is retried';
  return `see https://api.slack.com/methods/${method}#errors`;
}

function translate(error: unknown, method: string, context: CallContext, timeoutMs: number): SlackError {
  const failed = `slack ${method} (${context.doing}) failed`;
  if (error instanceof WebAPIPlatformError) {
    const code = error.data.error;
    return new SlackError(
      `${failed}: ${code}: ${fixFor(code, method, context, (error.data as { needed?: unknown }).needed)}`,
      method,
      RETRYABLE_SLACK_ERRORS.has(code),
      code,
    );
  }
  if (error instanceof WebAPIRateLimitedError) {
    return new SlackError(
      `${failed}: rate limited, Slack asks to wait ${error.retryAfter} s`,
      method,
      true,
      'ratelimited',
      error.retryAfter * 1_000,
    );
  }
  if (error instanceof WebAPIHTTPError) {
    const retryable = error.statusCode >= 500;
    const fix = retryable
      ? 'Slack is having trouble; the call is retried'
      : 'check slack.apiUrl: it must be the base URL of the Web API, e.g. https://slack.com/api/';
    return new SlackError(`${failed}: HTTP ${error.statusCode} ${error.statusMessage}: ${fix}`, method, retryable);
  }
  if (error instanceof WebAPIRequestError) {
    // Matched on the text too: an AbortSignal timeout from another realm (a test VM) reaches the SDK as a plain Error.
    const timedOut = /\bTimeoutError\b/.test(`${error.original.name}: ${error.original.message}`);
    const cause = timedOut ? `no answer within ${timeoutMs} ms (slack.timeout)` : error.original.message;
    return new SlackError(
      `${failed}: ${cause} (Slack unreachable or too slow; check slack.apiUrl and the network)`,
      method,
      true,
    );
  }
  return new SlackError(`${failed}: ${error instanceof Error ? error.message : String(error)}`, method, false);
}

/** The SDK's logger interface over ours, so its warnings (deprecations, retries) land in the structured log. */
function slackLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack-web-api' });
  const text = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  return {
    debug: (...parts: unknown[]) => child.debug(text(parts)),
    info: (...parts: unknown[]) => child.info(text(parts)),
    warn: (...parts: unknown[]) => child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.DEBUG,
    setName: () => undefined,
  };
}

/** The Web API client with bounded retries, and every call's failure as a SlackError. */
export class SlackApi {
  readonly client: WebClient;
  private readonly timeoutMs: number;

  constructor(settings: Pick<SlackSettings, 'token' | 'apiUrl' | 'timeout'>, logger: Logger) {
    this.timeoutMs = settings.timeout;
    this.client = new WebClient(settings.token, {
      slackApiUrl: settings.apiUrl,
      retryConfig: RETRY_CONFIG,
      timeout: settings.timeout,
      rejectRateLimitedCalls: true,
      logger: slackLogger(logger),
    });
  }

  /** Runs `request` (one SDK method call), waiting out short rate limits; throws SlackError. */
  async call<Result>(
    method: string,
    context: CallContext,
    request: (client: WebClient) => Promise<Result>,
  ): Promise<Result> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await request(this.client);
      } catch (error) {
        const failure = translate(error, method, context, this.timeoutMs);
        const wait = failure.retryAfterMs;
        if (wait === undefined || wait > this.timeoutMs || attempt >= RATE_LIMIT_ATTEMPTS) throw failure;
        await sleep(wait);
      }
    }
  }
}
