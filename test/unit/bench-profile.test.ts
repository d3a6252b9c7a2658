// The bench's profile reading (BENCH_PROFILE=1): a V8 CPU profile's self time by part, and the Temporal server's
// task waits from its Prometheus text.
import { partOf, summarize, summarizeServerMetrics } from '../../bench/profile';

test('frames are attributed to the SDK, the workflow sandbox, the engine, node and V8', () => {
  expect(partOf('file:///app/node_modules/@temporalio/worker/lib/worker.js', 'poll')).toBe('@temporalio/worker');
  expect(partOf('file:///app/node_modules/zod/lib/types.js', 'parse')).toBe('zod');
  expect(partOf('/tmp/workflow-bundle-0a1b2c.js', 'playbookRun')).toBe('workflow sandbox (bundle)');
  expect(partOf('file:///app/dist/ingress/server.js', 'handle')).toBe('engine: ingress/');
  expect(partOf('node:internal/streams/readable', 'read')).toBe('node internals');
  expect(partOf('', '(garbage collector)')).toBe('(garbage collector)');
  expect(partOf('', 'decode')).toBe('(native)');
});

test('self time adds up per part and per function; idle is left out of the busy share', () => {
  const frame = (id: number, functionName: string, url: string) => ({
    id,
    callFrame: { functionName, url, lineNumber: 9 },
  });
  const lines = summarize('worker', {
    nodes: [
      frame(1, '(idle)', ''),
      frame(2, 'activate', 'file:///a/node_modules/@temporalio/worker/lib/vm.js'),
      frame(3, '(garbage collector)', ''),
    ],
    samples: [1, 2, 2, 3],
    timeDeltas: [500_000, 250_000, 250_000, 1_000_000],
  });
  expect(lines[0]).toBe('**worker**: 2.0 s profiled, 75.0 % busy (1.5 s on one core).');
  expect(lines).toContain('| (garbage collector) | 1.0 s | 50.0 % |');
  expect(lines).toContain('| @temporalio/worker | 0.5 s | 25.0 % |');
  expect(lines).toContain('| `activate @temporalio/worker/lib/vm.js:10` | 0.5 s |');
  expect(lines.join('\n')).not.toContain('(idle) |');
});

test('the server’s task waits are summed over its services, per task queue, kind and partition', () => {
  const text = [
    '# TYPE task_schedule_to_start_latency histogram',
    'task_schedule_to_start_latency_sum{partition="__normal__",task_type="Workflow",taskqueue="finops_soar"} 30',
    'task_schedule_to_start_latency_count{partition="__normal__",task_type="Workflow",taskqueue="finops_soar"} 1000',
    'task_schedule_to_start_latency_sum{partition="__sticky__",task_type="Workflow",taskqueue="finops_soar"} 1',
    'task_schedule_to_start_latency_count{partition="__sticky__",task_type="Workflow",taskqueue="finops_soar"} 2000',
    'task_schedule_to_start_latency_count{partition="__normal__",task_type="Activity",taskqueue="idle"} 0',
  ].join('\n');
  const lines = summarizeServerMetrics('a', text);
  expect(lines.filter((line) => line.startsWith('| finops'))).toEqual([
    '| finops_soar | Workflow | __normal__ | 1000 | 30 ms |',
    '| finops_soar | Workflow | __sticky__ | 2000 | 1 ms |',
  ]);
});
