// Activities that feed the engine's own metrics (observability/engine-metrics.ts).
import type { EngineMetrics } from './engine-metrics';

export interface SavingsReport {
  /** The run's first execution id: the same across continue-as-new, new for each run of a target. */
  runId: string;
  playbook: string;
  /** Negative when the run's changes cost more than they saved. */
  savedUsd: number;
  /** From the first change to the last sample before the rollback. */
  hours: number;
}

export interface MetricsActivities {
  'finops.recordSavings': (report: SavingsReport) => Promise<void>;
}

export function createMetricsActivities(metrics: EngineMetrics): MetricsActivities {
  return {
    'finops.recordSavings': (report) => {
      metrics.recordSavings(report);
      return Promise.resolve();
    },
  };
}
