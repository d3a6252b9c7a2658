// The whole simulated inference platform (simulator/simulated-platform.ts: gateway with /metrics,
// Kubernetes API, S3 lifecycle API) on free loopback ports, its load model advanced by the wall
// clock as `npm start` advances it, and a real Prometheus scraping its /metrics every second. For
// tests that act on the platform and measure the effect through Prometheus, with the model's
// ground truth at hand to check the measurements against.
import type { ControlApiClient } from '../../gateway/control-api-client';
import type { Catalog } from '../../simulator/platform/catalog';
import type { PlatformModel } from '../../simulator/platform/model';
import { startSimulatedPlatform, type SimulatedPlatform } from '../../simulator/simulated-platform';
import { startPrometheus } from './prometheus';
import { GATEWAY_TOKEN, gatewayClient, silentLogger } from './simulator';

/** The model's default step: advance() moves its clock one whole second at a time. */
const STEP_MS = 1_000;
/** How often the clock is brought up to the wall clock: a step lands at most this late. */
const ADVANCE_EVERY_MS = 250;

export interface LivePlatformOptions {
  /** Seeds the load model: the same seed and the same clock give the same traffic and spend. */
  seed: number;
  /** Default: the simulator's DEFAULT_CATALOG. */
  catalog?: Catalog;
}

export interface LivePlatform {
  /** urls (gateway, kubernetes, s3), the policy store, the Kubernetes objects, the S3 buckets and the load model. */
  platform: SimulatedPlatform;
  /** A Control API client for the platform's gateway, e.g. for harness.startWorker(queue, { gateway }). */
  gateway: ControlApiClient;
  /** The Prometheus that scrapes the platform's /metrics every second (job `scraped`). */
  prometheusUrl: string;
  seed: number;
  /** The model clock's start: the wall clock when the platform started. */
  startMs: number;
  /**
   * Calls `listener` after every one-second step of the model's clock, so a test can keep the
   * ground truth as time went by; answers a function that stops the calls.
   */
  onStep(listener: (model: PlatformModel) => void): () => void;
  /**
   * Stops the clock, Prometheus and the platform; rejects if the clock stopped meanwhile (the model or a listener
   * threw).
   */
  close(): Promise<void>;
}

export async function startLivePlatform({ seed, catalog }: LivePlatformOptions): Promise<LivePlatform> {
  const startMs = Date.now();
  const platform = await startSimulatedPlatform({
    token: GATEWAY_TOKEN,
    logger: silentLogger(),
    seed,
    startMs,
    ...(catalog && { catalog }),
  });
  const { model } = platform;
  const listeners = new Set<(model: PlatformModel) => void>();
  let clockError: Error | undefined;
  // One step per advance() call, so listeners see every step even when a timer fires late.
  const clock = setInterval(() => {
    try {
      while (model.nowMs + STEP_MS <= Date.now()) {
        model.advance(model.nowMs + STEP_MS);
        for (const listener of listeners) listener(model);
      }
    } catch (error) {
      clockError = error instanceof Error ? error : new Error(JSON.stringify(error));
      clearInterval(clock);
    }
  }, ADVANCE_EVERY_MS);
  const stopPlatform = async () => {
    clearInterval(clock);
    await platform.close();
    // A listener's error stops the clock too: either way the test's numbers stop there.
    if (clockError)
      throw new Error(`the simulated platform's clock stopped: ${clockError.message}`, { cause: clockError });
  };

  const prometheus = await startPrometheus('', { scrape: [new URL(platform.urls.gateway).host] }).catch(
    async (error: unknown) => {
      await stopPlatform().catch(() => undefined);
      throw error;
    },
  );
  return {
    platform,
    gateway: gatewayClient(platform.urls.gateway),
    prometheusUrl: prometheus.url,
    seed,
    startMs,
    onStep(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      await prometheus.close();
      await stopPlatform();
    },
  };
}
