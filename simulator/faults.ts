// Faults on a rate, for the servers the engine calls (the Control API, Kubernetes, S3, and the tests' Slack):
// a share of requests answers 5xx, 429 with Retry-After, never in time (a timeout) or slowly. The draw for a
// request depends only on the seed, its method and path and how many such requests came before it, not on
// how requests of different runs interleave, so a seed reproduces a failure. And holds: a matching request is
// applied, then its answer waits until the test releases it, to stop a process between the server applying a
// change and the caller learning of it.
import { hashSeed, mulberry32 } from './platform/random';

export type FaultKind = 'error' | 'throttle' | 'timeout' | 'slow';

export interface RateFaultOptions {
  seed: number;
  /** The share of matching requests that get a fault, e.g. 0.3. */
  rate: number;
  /** The kinds drawn from, equally likely (default: all four). */
  kinds?: readonly FaultKind[];
  /** Which requests may get a fault (default: all). */
  when?: (method: string, path: string) => boolean;
  /** How long a timeout holds the request before answering 503, past the client's own deadline. */
  timeoutMs?: number;
  /** How long a slow answer takes, within the client's deadline. */
  slowMs?: number;
  /** The Retry-After of a 429, in seconds. */
  retryAfterSeconds?: number;
  /** The most faults to inject; later requests are served (and still logged). Default: no limit. */
  limit?: number;
}

/** What a server does with one request. 'slow' serves it after the delay; every other kind refuses it unapplied. */
export type InjectedFault =
  | { kind: 'error'; status: 500 | 502 | 503 }
  | { kind: 'throttle'; status: 429; retryAfterSeconds: number }
  | { kind: 'timeout'; delayMs: number; status: 503 }
  | { kind: 'slow'; delayMs: number };

const ALL_KINDS: readonly FaultKind[] = ['error', 'throttle', 'timeout', 'slow'];
const ERROR_STATUSES = [500, 502, 503] as const;

export class RateFaults {
  /** Requests seen while faults were on, and the faults injected, by kind. */
  readonly counts = { requests: 0, error: 0, throttle: 0, timeout: 0, slow: 0 };
  /** Every request drawn for, with when it came and its fault: a Retry-After honoured shows in the gaps. */
  readonly log: Array<{ atMs: number; key: string; fault: FaultKind | null }> = [];
  private readonly seen = new Map<string, number>();

  constructor(readonly options: RateFaultOptions) {}

  get injected(): number {
    const { error, throttle, timeout, slow } = this.counts;
    return error + throttle + timeout + slow;
  }

  /** The fault for this request, if it gets one. */
  draw(method: string, path: string): InjectedFault | undefined {
    const {
      seed,
      rate,
      kinds = ALL_KINDS,
      when,
      timeoutMs = 1_500,
      slowMs = 300,
      retryAfterSeconds = 1,
    } = this.options;
    if (when && !when(method, path)) return undefined;
    this.counts.requests += 1;
    const key = `${method} ${path}`;
    const nth = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, nth);
    const random = mulberry32(hashSeed(seed, key, nth));
    if (random() >= rate || this.injected >= (this.options.limit ?? Infinity)) {
      this.log.push({ atMs: Date.now(), key, fault: null });
      return undefined;
    }
    const kind = kinds[Math.floor(random() * kinds.length)]!;
    this.counts[kind] += 1;
    this.log.push({ atMs: Date.now(), key, fault: kind });
    switch (kind) {
      case 'error':
        return { kind, status: ERROR_STATUSES[Math.floor(random() * ERROR_STATUSES.length)]! };
      case 'throttle':
        return { kind, status: 429, retryAfterSeconds };
      case 'timeout':
        return { kind, delayMs: timeoutMs, status: 503 };
      case 'slow':
        return { kind, delayMs: slowMs };
    }
  }
}

interface Held {
  method: string;
  path: string;
  release: () => void;
}

/**
 * Holds the answers of matching requests after they were applied, until released. A test arms it, waits until a
 * request is held (the change is in the server's state, the caller has no answer yet), acts (kills the caller),
 * then releases.
 */
export class AnswerHold {
  private armed: ((method: string, path: string) => boolean) | undefined;
  private readonly heldAnswers: Held[] = [];

  /** Holds the answer of every request for which `when` holds, until release(). */
  arm(when: (method: string, path: string) => boolean): void {
    this.armed = when;
  }

  /** The requests whose answers are held now. */
  get held(): ReadonlyArray<{ method: string; path: string }> {
    return this.heldAnswers;
  }

  /** Disarms and lets every held answer go (to a caller that may be gone). */
  release(): void {
    this.armed = undefined;
    for (const held of this.heldAnswers.splice(0)) held.release();
  }

  /** Called by a server once it has applied the request: resolves when the answer may go. */
  async after(method: string, path: string): Promise<void> {
    if (!this.armed?.(method, path)) return;
    await new Promise<void>((release) => this.heldAnswers.push({ method, path, release }));
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** A permanent refusal (403, 422…) for the next matching request: what no retry can fix. */
export interface Refusal {
  /** Sees the parsed body too, to refuse one change among several to the same path. */
  when: (method: string, path: string, body: unknown) => boolean;
  status: number;
  message: string;
}

/** A server's fault controls, read on every request so a test can turn them on and off. */
export class ServerFaults {
  /** Faults on a rate; undefined: none. */
  rate: RateFaults | undefined;
  readonly hold = new AnswerHold();
  private readonly refusals: Refusal[] = [];

  /** The next request for which `when` holds is refused with `status`, unapplied. */
  refuseNext(refusal: Refusal): void {
    this.refusals.push(refusal);
  }

  /** The refusal for this request, if one is pending (and then it is used up). */
  refusal(method: string, path: string, body: unknown): Refusal | undefined {
    const index = this.refusals.findIndex((candidate) => candidate.when(method, path, body));
    return index < 0 ? undefined : this.refusals.splice(index, 1)[0];
  }
}
