// What the simulated platform keeps and sends out, by data domain: request logs and the prompt
// archive grow with the requests served, the eval datasets sit there, and answers and shipped logs
// leave the platform as egress. Each day's writes age as a bucket of their own, so data moves from the
// hot storage class to the cold one when it is older than the domain's usual lifecycle transition,
// and storage is paid per GB-month of what each class holds. Deterministic like the load model: no
// draw of its own, only what served requests carry and the model clock.
//
// The lifecycle rules a playbook writes through the simulator's S3 API do not move these bytes yet:
// each domain keeps the transition its catalog entry gives.

export const HOT_STORAGE_CLASS = 'STANDARD';

/** List prices of S3 in us-east-1 (2024): US dollars per GB-month by storage class, per GB out to the internet. */
export const STORAGE_USD_PER_GB_MONTH: Record<string, number> = {
  STANDARD: 0.023,
  STANDARD_IA: 0.0125,
  GLACIER_IR: 0.004,
};
export const EGRESS_USD_PER_GB = 0.09;

const DAY_MS = 86_400_000;
const GB = 1e9;
/** A billing month: GB-month prices accrue over 30 days. */
const MONTH_SECONDS = 30 * 86_400;

export interface DataDomainSpec {
  /** The `data_domain` label. */
  domain: string;
  /** The S3 bucket holding it; null when it is never stored (answers sent to clients). */
  bucket: string | null;
  /** Bytes each served request (cache hits included) adds: a fixed part and a part per token. */
  perRequest: { bytes: number; perInputToken: number; perOutputToken: number };
  /** What it writes also leaves the platform (to clients, to a SIEM): egress in the request's region. */
  egress: boolean;
  /** Days in the hot class before the transition to `coldClass`; null: kept hot. */
  hotDays: number | null;
  coldClass: string;
  /** What the bucket held when the platform started: `days` days of `bytesPerDay` each, ending yesterday. */
  stock: { days: number; bytesPerDay: number };
}

/**
 * About 140 requests/s served at ~3,000 tokens each: request logs of ~12 KB a request (~150 GB a day), the prompt
 * archive ~4 bytes a prompt token, eval datasets a fixed 2 TB.
 */
export const DEFAULT_DATA_DOMAINS: DataDomainSpec[] = [
  {
    domain: 'inference-responses',
    bucket: null,
    perRequest: { bytes: 600, perInputToken: 0, perOutputToken: 4 },
    egress: true,
    hotDays: null,
    coldClass: 'GLACIER_IR',
    stock: { days: 0, bytesPerDay: 0 },
  },
  {
    domain: 'request-logs',
    bucket: 'llm-request-logs',
    perRequest: { bytes: 1_024, perInputToken: 4, perOutputToken: 4 },
    egress: true,
    hotDays: 30,
    coldClass: 'GLACIER_IR',
    stock: { days: 90, bytesPerDay: 150 * GB },
  },
  {
    domain: 'prompt-archive',
    bucket: 'llm-prompt-archive',
    perRequest: { bytes: 0, perInputToken: 4, perOutputToken: 0 },
    egress: false,
    hotDays: 7,
    coldClass: 'GLACIER_IR',
    stock: { days: 60, bytesPerDay: 100 * GB },
  },
  {
    domain: 'eval-datasets',
    bucket: 'llm-eval-datasets',
    perRequest: { bytes: 0, perInputToken: 0, perOutputToken: 0 },
    egress: false,
    hotDays: null,
    coldClass: 'GLACIER_IR',
    stock: { days: 1, bytesPerDay: 2_000 * GB },
  },
];

export interface StoredClass {
  domain: string;
  bucket: string;
  storageClass: string;
  bytes: number;
  /** Storage paid so far for this class of the bucket since the platform started. */
  costUsd: number;
}

export interface DomainTotals {
  domain: string;
  bucket: string | null;
  /** Bytes written since the platform started. */
  writtenBytes: number;
  /** Egress by region since the platform started. */
  egressBytes: Record<string, number>;
}

interface DomainState {
  spec: DataDomainSpec;
  /** Bytes written per UTC day (day number since the epoch). */
  byDay: Map<number, number>;
  hotBytes: number;
  coldBytes: number;
  hotCostUsd: number;
  coldCostUsd: number;
  writtenBytes: number;
  egressBytes: Map<string, number>;
}

export class StorageModel {
  private readonly domains: DomainState[];
  private day: number;

  constructor(specs: readonly DataDomainSpec[], startMs: number) {
    this.day = Math.floor(startMs / DAY_MS);
    this.domains = specs.map((spec) => {
      const byDay = new Map<number, number>();
      for (let age = 1; age <= spec.stock.days; age++) byDay.set(this.day - age, spec.stock.bytesPerDay);
      return {
        spec,
        byDay,
        hotBytes: 0,
        coldBytes: 0,
        hotCostUsd: 0,
        coldCostUsd: 0,
        writtenBytes: 0,
        egressBytes: new Map(),
      };
    });
    for (const state of this.domains) this.split(state);
  }

  /** What a served request writes and sends out, stamped on today's bucket. */
  recordServed(region: string, inputTokens: number, outputTokens: number): void {
    for (const state of this.domains) {
      const { bytes, perInputToken, perOutputToken } = state.spec.perRequest;
      const written = bytes + inputTokens * perInputToken + outputTokens * perOutputToken;
      if (written === 0) continue;
      state.writtenBytes += written;
      if (state.spec.egress) state.egressBytes.set(region, (state.egressBytes.get(region) ?? 0) + written);
      if (state.spec.bucket === null) continue;
      state.byDay.set(this.day, (state.byDay.get(this.day) ?? 0) + written);
      // Today's data is never past a transition.
      if (state.spec.hotDays === 0) state.coldBytes += written;
      else state.hotBytes += written;
    }
  }

  /** Storage paid for `dtSeconds` ending at `nowMs`; a new UTC day moves what aged past its transition. */
  advance(dtSeconds: number, nowMs: number): void {
    const day = Math.floor(nowMs / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      for (const state of this.domains) this.split(state);
    }
    for (const state of this.domains) {
      if (state.spec.bucket === null) continue;
      const months = dtSeconds / MONTH_SECONDS;
      state.hotCostUsd += (state.hotBytes / GB) * STORAGE_USD_PER_GB_MONTH[HOT_STORAGE_CLASS]! * months;
      state.coldCostUsd += (state.coldBytes / GB) * (STORAGE_USD_PER_GB_MONTH[state.spec.coldClass] ?? 0) * months;
    }
  }

  /** What each stored domain holds per storage class (both classes, even when one is empty). */
  stored(): StoredClass[] {
    return this.domains.flatMap(({ spec, hotBytes, coldBytes, hotCostUsd, coldCostUsd }) =>
      spec.bucket === null
        ? []
        : [
            {
              domain: spec.domain,
              bucket: spec.bucket,
              storageClass: HOT_STORAGE_CLASS,
              bytes: hotBytes,
              costUsd: hotCostUsd,
            },
            {
              domain: spec.domain,
              bucket: spec.bucket,
              storageClass: spec.coldClass,
              bytes: coldBytes,
              costUsd: coldCostUsd,
            },
          ],
    );
  }

  totals(): DomainTotals[] {
    return this.domains.map(({ spec, writtenBytes, egressBytes }) => ({
      domain: spec.domain,
      bucket: spec.bucket,
      writtenBytes,
      egressBytes: Object.fromEntries(egressBytes),
    }));
  }

  private split(state: DomainState): void {
    const { hotDays } = state.spec;
    state.hotBytes = 0;
    state.coldBytes = 0;
    for (const [day, bytes] of state.byDay) {
      if (hotDays !== null && this.day - day >= hotDays) state.coldBytes += bytes;
      else state.hotBytes += bytes;
    }
  }
}
