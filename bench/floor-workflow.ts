// The floor of row 1: the tiniest run Temporal can start and act in. Its first act is one activity
// round trip, whose worker notes when it ran; nothing of the engine (limits, playbook) is on the path.
import { defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

export const floorSignal = defineSignal<[unknown]>('alertNotification');

const { recordArrival } = proxyActivities<{ recordArrival(id: string): Promise<void> }>({
  startToCloseTimeout: '10s',
});

export async function floorRun(id: string): Promise<void> {
  setHandler(floorSignal, () => undefined);
  await recordArrival(id);
}
