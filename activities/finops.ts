// FinOps checks: budget questions answered from Prometheus (spend) and Kubernetes (GPUs per replica).
import { ApplicationFailure } from '@temporalio/common';
import type { Target } from '../alerts/target';
import { forecastMonthUsd, monthWindow, RECENT_DAYS, scaleOutDecision } from '../finops/budget';
import { KubernetesError, type KubernetesAdapter } from '../kubernetes/client';
import { parseParams, type CheckActivity } from './action';
import { instantValue, type PrometheusQuery } from './prometheus';

export interface Budget {
  monthlyUsd: number;
  /** PromQL label matchers choosing the spend that counts, e.g. tenant="acme"; empty: all of it. */
  selector: string;
}

export interface FinopsSettings {
  budgets: Record<string, Budget>;
  /** What one GPU costs per hour, for scale-out estimates. */
  gpuHourlyUsd: number;
  /** The share of every budget kept free, 0 to 1. */
  headroom: number;
}

export interface FinopsActivities {
  'finops.scaleOutBudget': CheckActivity;
}

const cents = (value: number) => Math.round(value * 100) / 100;

function deploymentOf({ key, labels }: Target) {
  if (!labels.namespace || !labels.deployment) throw ApplicationFailure.nonRetryable(`finops.scaleOutBudget: target ${key} is not a deployment`, 'InvalidTarget');
  return { namespace: labels.namespace, name: labels.deployment };
}

export function createFinopsActivities({ prometheus, kubernetes, settings }: { prometheus: PrometheusQuery; kubernetes: KubernetesAdapter; settings: FinopsSettings }): FinopsActivities {
  return {
    async 'finops.scaleOutBudget'({ target, params }) {
      const step = 'finops.scaleOutBudget';
      const { budget: name, addReplicas, expectedHours } = parseParams(step, params);
      const budget = settings.budgets[name];
      if (!budget) {
        const known = Object.keys(settings.budgets);
        throw ApplicationFailure.nonRetryable(`${step}: no budget named ${name}; define finops.budgets.${name} in the config (defined: ${known.join(', ') || 'none'})`, 'InvalidParams');
      }
      let gpusPerReplica;
      try {
        ({ gpusPerReplica } = await kubernetes.readDeployment(deploymentOf(target)));
      } catch (error) {
        if (!(error instanceof KubernetesError)) throw error;
        throw error.retryable ? ApplicationFailure.retryable(error.message, 'KubernetesUnavailable') : ApplicationFailure.nonRetryable(error.message, 'KubernetesRejected');
      }

      const window = monthWindow(new Date());
      const spend = (range: string) => `sum(increase(inference_cost_usd_total{${budget.selector}}[${range}]))`;
      const monthToDateUsd = (await instantValue(prometheus, spend(`${window.elapsedSeconds}s`), step)) ?? 0;
      const recentUsd = window.elapsedDays >= RECENT_DAYS ? ((await instantValue(prometheus, spend(`${RECENT_DAYS}d`), step)) ?? 0) : null;
      const forecastUsd = forecastMonthUsd({ monthToDateUsd, recentUsd }, window);
      const scaleOutUsd = addReplicas * gpusPerReplica * settings.gpuHourlyUsd * expectedHours;
      const decision = scaleOutDecision({ forecastUsd, scaleOutUsd, budgetUsd: budget.monthlyUsd, headroom: settings.headroom });
      return {
        allowed: decision.allowed,
        budgetUsd: budget.monthlyUsd,
        limitUsd: cents(decision.limitUsd),
        monthToDateUsd: cents(monthToDateUsd),
        forecastUsd: cents(forecastUsd),
        scaleOutUsd: cents(scaleOutUsd),
        reason: decision.reason,
      };
    },
  };
}
