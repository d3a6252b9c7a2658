// How many runs are in each live state (waiting for a slot, awaiting approval, mitigated, holding, …), asked of
// Temporal's visibility store every `everyMs` and served as finops_soar_runs{state}. A count per state is a cheap
// query, kept off the webhook's path; every worker replica reports the namespace's counts, so read them with max().
// The CAPAs open and overdue (finops_soar_capas{state}) are counted in the same round.
import type { Client } from '@temporalio/client';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { RunState } from '../workflows/playbook-run/definitions';
import { capaQuery } from '../capa/capa-query';

/** The states a running playbookRun can be in; the others are ends, counted by finops_soar_runs_ended_total. */
export const LIVE_STATES: readonly RunState[] = [
  'waiting',
  'applying',
  'awaiting-approval',
  'mitigated',
  'cooldown',
  'holding',
  'rolling-back',
];

export class RunStates {
  private readonly runs: Gauge;
  private readonly capas: Gauge;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    registry: Registry,
    private readonly client: Client,
    private readonly logger: Logger,
  ) {
    this.runs = new Gauge({
      name: 'finops_soar_runs',
      help: "Playbook runs in each live state, from Temporal's visibility (the namespace's count: every worker replica reports it, read it with max()).",
      labelNames: ['state'],
      registers: [registry],
    });
    this.capas = new Gauge({
      name: 'finops_soar_capas',
      help: "CAPAs open, and open past their due date (overdue), from Temporal's visibility (the namespace's count: read it with max()).",
      labelNames: ['state'],
      registers: [registry],
    });
  }

  start(everyMs: number): void {
    const count = () => void this.count();
    count();
    this.timer = setInterval(count, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async count(): Promise<void> {
    try {
      const counts = await Promise.all(
        LIVE_STATES.map((state) =>
          this.client.workflow.count(
            `WorkflowType = 'playbookRun' AND ExecutionStatus = 'Running' AND FinopsState = '${state}'`,
          ),
        ),
      );
      LIVE_STATES.forEach((state, index) => this.runs.set({ state }, counts[index]!.count));
      const [open, overdue] = await Promise.all(
        [capaQuery({ state: 'open' }), capaQuery({ state: 'open', overdue: true })].map((query) =>
          this.client.workflow.count(query),
        ),
      );
      this.capas.set({ state: 'open' }, open!.count);
      this.capas.set({ state: 'overdue' }, overdue!.count);
    } catch (error) {
      // A visibility store that is slow or down leaves the last counts; the next round tries again.
      this.logger.warn({ err: error }, 'counting runs by state failed');
    }
  }
}
