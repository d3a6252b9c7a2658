// Rows 1-3: the floor (a bare signalWithStart whose run does one activity round trip), one alert at
// a time from the webhook to the first change at the gateway, and 50 distinct alerts at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from '@temporalio/worker';
import { alert, post } from './alerts';
import { floorSignal } from './floor-workflow';
import type { Stack } from './stack';
import { percentile, type Row } from './table';

const FLOOR_QUEUE = 'bench-floor';

export async function floorRow(stack: Stack, samples: number): Promise<Row> {
  const arrivals = new Map<string, number>();
  const worker = await Worker.create({
    connection: stack.env.nativeConnection,
    taskQueue: FLOOR_QUEUE,
    workflowsPath: require.resolve('./floor-workflow'),
    activities: {
      recordArrival: (id: string) => {
        arrivals.set(id, performance.now());
        return Promise.resolve();
      },
    },
  });
  const latencies: number[] = [];
  const calls: number[] = [];
  await worker.runUntil(async () => {
    for (let i = -10; i < samples; i++) {
      const id = `floor/${i}`;
      const start = performance.now();
      await stack.env.client.workflow.signalWithStart('floorRun', {
        workflowId: id,
        taskQueue: FLOOR_QUEUE,
        args: [id],
        signal: floorSignal,
        signalArgs: [{}],
      });
      const answered = performance.now() - start;
      while (!arrivals.has(id)) await sleep(1);
      if (i < 0) continue; // the first 10: warm-up
      latencies.push(arrivals.get(id)! - start);
      calls.push(answered);
    }
  });
  return {
    name: '1. floor: signalWithStart + one activity round trip',
    samples: latencies,
    figure: `the call alone: median ${percentile(calls, 50).toFixed(1)} ms, p99 ${percentile(calls, 99).toFixed(1)} ms`,
  };
}

/** Waits for the first change of each tenant at the gateway; latencies from `start`, unchanged ones left out. */
async function firstChanges(stack: Stack, tenants: string[], start: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && tenants.some((tenant) => !stack.store.firstChange.has(tenant))) await sleep(2);
  return tenants.flatMap((tenant) => {
    const at = stack.store.firstChange.get(tenant);
    return at === undefined ? [] : [at - start];
  });
}

export async function oneAtATimeRow(stack: Stack, samples: number, floor: number): Promise<Row> {
  const latencies: number[] = [];
  for (let i = -5; i < samples; i++) {
    const tenant = `single-${i}`;
    const start = performance.now();
    await post(stack.webhookUrl, [alert(tenant)]);
    const [latency] = await firstChanges(stack, [tenant], start, 30_000);
    if (i >= 0 && latency !== undefined) latencies.push(latency); // the first 5: warm-up
  }
  const p99 = percentile(latencies, 99);
  return {
    name: '2. one alert at a time: webhook → first gateway change',
    samples: latencies,
    count: latencies.length < samples ? `${latencies.length} of ${samples} changed` : undefined,
    figure: `p99 ÷ floor p99 ${(p99 / floor).toFixed(1)}×`,
    target: { text: 'p99 ≤ 100 ms', met: latencies.length === samples && p99 <= 100 },
  };
}

export async function burstRow(stack: Stack, size: number): Promise<Row> {
  const tenants = Array.from({ length: size }, (_, i) => `burst-${i}`);
  const start = performance.now();
  await Promise.all(tenants.map((tenant) => post(stack.webhookUrl, [alert(tenant)])));
  const latencies = await firstChanges(stack, tenants, start, 120_000);
  const p99 = percentile(latencies, 99);
  return {
    name: `3. ${size} distinct alerts at once → each first change`,
    samples: latencies,
    count: latencies.length < size ? `${latencies.length} of ${size} changed in 120 s` : undefined,
    target: { text: 'p99 ≤ 1 s', met: latencies.length === size && p99 <= 1_000 },
  };
}
