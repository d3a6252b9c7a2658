// BENCH_PROFILE=1: where the worker's and the ingress's CPU went. Each child runs with Node's --cpu-prof, which
// writes a V8 CPU profile (https://nodejs.org/api/cli.html#--cpu-prof) when it exits; this reads them and prints
// the self time by part (the Temporal SDK and its Rust core, the workflows' sandbox, the engine, GC, idle) and the
// hottest functions, below the table.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a .cpuprofile this reads (the Chrome DevTools Protocol's Profiler.Profile). */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** What a frame belongs to, by its script's URL. */
export function partOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node internals';
  // Workflow code runs from the bundle, in the worker's sandbox (vm contexts).
  if (/workflow-bundle|webpack|bundle\.js/.test(url)) return 'workflow sandbox (bundle)';
  const project = url.match(/\/dist\/([^/]+)\//);
  return project ? `engine: ${project[1]}/` : url;
}

function selfTimes(profile: CpuProfile): Map<number, number> {
  const times = new Map<number, number>();
  profile.samples.forEach((id, index) => times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  return times;
}

/** The profile's self time by part and the hottest functions, as lines of Markdown. */
export function summarize(name: string, profile: CpuProfile, top = 8): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parts = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of selfTimes(profile)) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    total += micros;
    const part = partOf(url, functionName);
    parts.set(part, (parts.get(part) ?? 0) + micros);
    const where = url ? `${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}` : '';
    const fn = `${functionName || '(anonymous)'} ${where}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
  }
  const share = (micros: number) => `${((100 * micros) / total).toFixed(1)} %`;
  const busy = total - (parts.get('(idle)') ?? 0);
  const sorted = (map: Map<string, number>) => [...map].filter(([key]) => key !== '(idle)').sort((a, b) => b[1] - a[1]);
  return [
    `**${name}**: ${(total / 1e6).toFixed(1)} s profiled, ${share(busy)} busy (${(busy / 1e6).toFixed(1)} s on one core).`,
    '',
    '| part | self time | of all |',
    '| --- | ---: | ---: |',
    ...sorted(parts)
      .slice(0, top)
      .map(([part, micros]) => `| ${part} | ${(micros / 1e6).toFixed(1)} s | ${share(micros)} |`),
    '',
    '| hottest function | self time |',
    '| --- | ---: |',
    ...sorted(functions)
      .slice(0, top)
      .map(([fn, micros]) => `| \`${fn}\` | ${(micros / 1e6).toFixed(1)} s |`),
    '',
  ];
}

/** Every profile a child wrote into `dir`, summarized; `names` maps a child's pid to what it is. */
export function printProfiles(dir: string, names: Record<number, string>, serverMetrics: string[] = []): void {
  const lines = ['', '### Where the CPU went (BENCH_PROFILE=1)', '', ...serverMetrics];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    // Node names them CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile; thread 0 is the main one, the others are the
    // SDK's workflow threads (worker_threads running the workflows' sandbox).
    const [pid, tid] = file.split('.').slice(3, 5).map(Number);
    const thread = tid === 0 ? 'main thread' : `workflow thread ${tid}`;
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    lines.push(...summarize(`${names[pid!] ?? `pid ${pid}`}, ${thread}`, profile));
  }
  console.log(lines.join('\n'));
}

/**
 * The Temporal server's own view of one phase (its Prometheus metrics, cumulative): how long tasks waited to be
 * picked up, by task queue and kind. A long wait on the runs' queue with a short one on the sticky queue means
 * the worker could not keep up, not the server.
 */
export function summarizeServerMetrics(name: string, text: string): string[] {
  const waits = new Map<string, { sum: number; count: number }>();
  for (const line of text.split('\n')) {
    const match = line.match(/^task_schedule_to_start_latency_(sum|count)\{(.*)\} (\S+)$/);
    if (!match) continue;
    const labels: Record<string, string> = Object.fromEntries(
      [...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key!, value!]),
    );
    const key = `${labels.taskqueue} | ${labels.task_type} | ${labels.partition}`;
    const entry = waits.get(key) ?? { sum: 0, count: 0 };
    entry[match[1] as 'sum' | 'count'] += Number(match[3]);
    waits.set(key, entry);
  }
  return [
    `**Temporal server, ${name}**: time from a task's scheduling to a worker taking it (task_schedule_to_start_latency).`,
    '',
    '| task queue | task | partition | tasks | mean wait |',
    '| --- | --- | --- | ---: | ---: |',
    ...[...waits]
      .filter(([, { count }]) => count > 0)
      .sort((a, b) => b[1].sum - a[1].sum)
      .map(([key, { sum, count }]) => `| ${key} | ${count} | ${((1000 * sum) / count).toFixed(0)} ms |`),
    '',
  ];
}
