// One gateway call, tried again on a retryable failure: shared by the Control API and LiteLLM clients, whose
// activities' own retries have neither jitter nor Retry-After (issue 13, test/faults).
import { isAxiosError } from 'axios';
import type { GatewayError } from './adapter';

export interface WireRetries {
  /**
   * Tries of one call before its failure goes to the caller; the worker asks for 3, under the activity's own retries.
   * Default 1: every failure goes straight to the caller.
   */
  attempts?: number;
  /** The first backoff; each try doubles it, and a random share of it is waited (full jitter). Default 250 ms. */
  backoffMs?: number;
  /** A Retry-After up to this is waited out here; a longer one fails the call, for the activity to retry. Default 5 s. */
  maxRetryAfterMs?: number;
  /**
   * No try starts that could end (wait plus timeout) past this long after the first began: the caller's own deadline
   * (the activity's start-to-close timeout) stays ahead of the call's. Default: no bound but `attempts`.
   */
  budgetMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry-After in seconds or as an HTTP date (RFC 9110), in ms from now; undefined when absent or unreadable. */
function retryAfterMs(error: unknown): number | undefined {
  if (!isAxiosError(error)) return undefined;
  const header: unknown = error.response?.headers?.['retry-after'];
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * `request`, tried again on a retryable failure (5xx, 429, a timeout): after the Retry-After the gateway asked for,
 * else after an exponential backoff with full jitter, so that many runs retrying at once spread out instead of
 * hitting a recovering gateway together. Only for requests that are safe to repeat.
 */
export async function withWireRetries<Result>(
  { attempts = 1, backoffMs = 250, maxRetryAfterMs = 5_000, budgetMs = Infinity }: WireRetries,
  timeoutMs: number,
  request: () => Promise<Result>,
  toGatewayError: (error: unknown) => GatewayError,
): Promise<Result> {
  const started = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await request();
    } catch (error) {
      const failure = toGatewayError(error);
      const asked = retryAfterMs(error);
      if (!failure.retryable || attempt >= attempts || (asked ?? 0) > maxRetryAfterMs) throw failure;
      const jitter = Math.random() * backoffMs * 2 ** (attempt - 1);
      // A Retry-After is a floor: waited in full, plus a little jitter so the callers it throttled do not return together.
      const wait = asked === undefined ? jitter : asked + jitter / 4;
      if (Date.now() - started + wait + timeoutMs > budgetMs) throw failure;
      await sleep(wait);
    }
  }
}
