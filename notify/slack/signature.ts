// Slack request signing (v0): X-Slack-Signature = "v0=" + hex HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}").
// The timestamp bounds replays to Slack's 5-minute window; within it, a replayed click is deduplicated downstream.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SIGNATURE_AGE_SECONDS = 5 * 60;

export interface SlackRequestToVerify {
  signingSecret: string;
  /** The X-Slack-Request-Timestamp header as received (a header repeated is malformed). */
  timestamp: string | string[] | undefined;
  /** The X-Slack-Signature header as received. */
  signature: string | string[] | undefined;
  /** The body exactly as received, before any form parsing. */
  rawBody: string | Buffer;
  nowSeconds: number;
}

export type SlackVerification = { ok: true } | { ok: false; reason: string };

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();

export function verifySlackRequest({
  signingSecret,
  timestamp,
  signature,
  rawBody,
  nowSeconds,
}: SlackRequestToVerify): SlackVerification {
  if (typeof timestamp !== 'string') return { ok: false, reason: 'X-Slack-Request-Timestamp is missing or repeated' };
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: 'X-Slack-Request-Timestamp is not a Unix time in seconds' };
  if (typeof signature !== 'string') return { ok: false, reason: 'X-Slack-Signature is missing or repeated' };
  if (!/^v0=[0-9a-f]{64}$/.test(signature))
    return { ok: false, reason: 'X-Slack-Signature is not v0= followed by 64 hex digits' };

  const age = nowSeconds - Number(timestamp);
  if (age > MAX_SIGNATURE_AGE_SECONDS) {
    return {
      ok: false,
      reason: `the request was signed ${age} s ago, more than ${MAX_SIGNATURE_AGE_SECONDS} s: a replay, or this server's clock is wrong (check NTP)`,
    };
  }
  if (-age > MAX_SIGNATURE_AGE_SECONDS) {
    return {
      ok: false,
      reason: `the request is dated ${-age} s in the future, more than ${MAX_SIGNATURE_AGE_SECONDS} s: this server's clock is wrong (check NTP)`,
    };
  }

  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  const expected = 'v0=' + createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(body).digest('hex');
  // Hashing both sides gives equal-length buffers, so the comparison's time says nothing about either.
  if (!timingSafeEqual(sha256(expected), sha256(signature))) {
    return {
      ok: false,
      reason:
        "X-Slack-Signature does not match the body: forged, altered in transit, or slack.signingSecret is not this app's signing secret",
    };
  }
  return { ok: true };
}
