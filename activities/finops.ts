// FinOps checks: budget questions answered from Prometheus (spend) and Kubernetes (GPUs per replica).
import { ApplicationFailure } from '@temporalio/common';
import { forecastMonthUsd, monthWindow, RECENT_DAYS, scaleOutDecision } from '../finops/budget';
import type { KubernetesAdapter } from '../kubernetes/client';
import { parseParams, type CheckActivity } from './action';
import { callKubernetes, deploymentOf } from './kubernetes';
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
      const { gpusPerReplica } = await callKubernetes(() => kubernetes.readDeployment(deploymentOf(step, target)));

      const window = monthWindow(new Date());
      const spend = (range: string) => `sum(increase(inference_cost_usd_total{${budget.selector}}[${range}]))`;
      // No series is no answer, not $0: a wrong selector must not make every scale-out look free.
      const spent = async (range: string) => {
        const value = await instantValue(prometheus, spend(range), step);
        if (value === null) {
          throw ApplicationFailure.nonRetryable(
            `${step}: no spend matches ${spend(range)}; check finops.budgets.${name}.selector and that Prometheus scrapes the gateway's inference_cost_usd_total`,
            'NoSpendData',
          );
        }
        return value;
      };
      const monthToDateUsd = await spent(`${window.elapsedSeconds}s`);
      const recentUsd = window.elapsedDays >= RECENT_DAYS ? await spent(`${RECENT_DAYS}d`) : null;
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
