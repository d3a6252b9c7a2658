// npm run bench: the figures of issue 14 item 4, measured in one run on this machine, as one table.
// Phase A (one stack, engine.maxConcurrentRuns 1,000): rows 1-4. Phase B (a fresh stack,
// engine.maxConcurrentRuns 10,000): row 5. What each row measures: bench/README.md.
import { availableParallelism, loadavg } from 'node:os';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { account } from './accounting';
import { burstRow, floorRow, oneAtATimeRow } from './latency';
import { CHANGED_MARK, LIVE_RUNS, liveRuns } from './live-runs';
import { rssMiB, startStack } from './stack';
import { IN_FLIGHT, rawSignalWithStart, sendStorm, settle, SETTLE_MS } from './storm';
import { stormPlan } from './storm-plan';
import { percentile, printTable, type Row } from './table';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 50);
const STORM_TARGETS = 2_000;
const STORM_MAX_RUNS = 1_000;
const log = (message: string) => console.error(`[bench] ${new Date().toISOString().slice(11, 19)} ${message}`);
const mib = (value: number) => `${value.toFixed(0)} MiB`;

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const rows: Row[] = [];
  const began = Date.now();
  // Other work on this machine skews every figure: the load averages are printed with the table.
  const loadBefore = loadavg()[1]!;

  const a = await startStack('a', STORM_MAX_RUNS);
  let ingressRss: { before: number; peak: number; after: number };
  try {
    log('row 1: floor');
    const floor = await floorRow(a, SAMPLES * 2);
    rows.push(floor);
    log('row 2: one alert at a time');
    rows.push(await oneAtATimeRow(a, SAMPLES, percentile(floor.samples, 99)));
    log('row 3: 50 at once');
    rows.push(await burstRow(a, 50));

    const plan = stormPlan(STORM_TARGETS);
    log(`row 4: raw signalWithStart x ${plan.deliveries}`);
    const raw = await rawSignalWithStart(a, plan);
    log(`row 4: storm of ${plan.notifications.length} notifications, ${plan.deliveries} alerts`);
    const ingest = await sendStorm(a, plan);
    const settled = await settle(a, plan, ingest);
    log('row 4: accounting');
    const books = await account(a, plan, settled.acted);
    ingressRss = { ...ingest.ingressRss, after: rssMiB(a.ingress.pid!) };

    const p99 = percentile(ingest.attempts, 99);
    const ratio = ingest.alertsPerSecond / raw.callsPerSecond;
    rows.push({
      name: `4a. storm through the webhook: ${plan.notifications.length} notifications, ${IN_FLIGHT} in flight`,
      samples: ingest.attempts,
      figure: `${ingest.alertsPerSecond.toFixed(0)} alerts/s (${plan.deliveries} alerts); ${ingest.refused} answers 503/429, retried`,
      target: {
        text: 'ingest ≥ 1,000 alerts/s, webhook p99 ≤ 500 ms',
        met: ingest.alertsPerSecond >= 1_000 && p99 <= 500,
      },
    });
    rows.push({
      name: `4b. the same ${plan.deliveries} bare signalWithStart calls, ${IN_FLIGHT} in flight`,
      samples: raw.latencies,
      figure: `${raw.callsPerSecond.toFixed(0)} calls/s; ingress ÷ raw ${ratio.toFixed(2)}`,
      target: { text: 'ingress ≥ 0.80 of raw', met: ratio >= 0.8 },
    });
    const actedLatencies = plan.tenants.flatMap((tenant) => {
      const at = a.store.firstChange.get(tenant);
      return at !== undefined && settled.acted.has(tenant) ? [at - ingest.firstSent.get(tenant)!] : [];
    });
    const others = Object.entries(books.notActed)
      .filter(([state]) => state !== 'waiting')
      .map(([state, n]) => `${state} ${n}`)
      .join(', ');
    const covered = settled.acted.size + books.visiblyWaiting;
    rows.push({
      name: `4c. storm: ${STORM_TARGETS} targets acted on or visibly waiting ≤ ${SETTLE_MS / 1000} s after it (maxConcurrentRuns ${STORM_MAX_RUNS}); ms to first change`,
      samples: actedLatencies,
      count: `${STORM_TARGETS} targets`,
      figure: `acted ${settled.acted.size}, visibly waiting ${books.visiblyWaiting}${others ? `, neither: ${others}` : ''}${
        settled.coveredAt
          ? `; all covered ${((settled.coveredAt - ingest.start) / 1000).toFixed(1)} s after the storm began`
          : ''
      }`,
      target: { text: `every target within ${SETTLE_MS / 1000} s`, met: covered === STORM_TARGETS },
    });
    rows.push({
      name: '4d. storm accounting: every alert in exactly one run',
      samples: [],
      count: `${plan.alerts.size} alerts`,
      figure: `${books.alertsInOneRun} in one run, ${books.lost} lost, ${books.inSeveralRuns} in several${books.unknown ? `, ${books.unknown} unknown (status query failed)` : ''}; ${books.runs} runs for ${books.targetsWithRun} of ${STORM_TARGETS} targets (${books.extraRuns} extra); resolves applied ${books.resolvesApplied} of ${books.resolves}${books.queryFailures ? `; ${books.queryFailures} status queries failed` : ''}`,
      target: {
        text: '0 lost, 0 extra runs',
        met:
          books.lost === 0 &&
          books.unknown === 0 &&
          books.inSeveralRuns === 0 &&
          books.extraRuns === 0 &&
          books.targetsWithRun === STORM_TARGETS,
      },
    });
    rows.push({
      name: '4e. worker RSS during the storm (peak)',
      samples: [],
      count: '',
      figure: mib(ingest.workerRssPeak),
    });
  } finally {
    await a.stop();
  }

  const b = await startStack('b', 10_000);
  try {
    log(`row 5: ${LIVE_RUNS} live runs`);
    const live = await liveRuns(b);
    rows.push({
      name: `5a. worker RSS with ${LIVE_RUNS} live runs waiting for resolution (maxConcurrentRuns 10,000)`,
      samples: [],
      count: `${live.running} running`,
      figure: `${mib(live.end)} at the end, ${live.atMark === null ? 'never' : mib(live.atMark)} when ${CHANGED_MARK} had changed, ${mib(live.peak)} peak, ${mib(live.idle)} idle; ${live.changed} of ${LIVE_RUNS} changed in ${live.changedIn.toFixed(0)} s (sent in ${live.sentIn.toFixed(0)} s)`,
      target: {
        text: 'worker RSS ≤ 1 GiB, all 5,000 acted and waiting',
        met: live.peak <= 1024 && live.running >= LIVE_RUNS && live.changed === LIVE_RUNS,
      },
    });
  } finally {
    await b.stop();
  }
  rows.push({
    name: '5b. ingress RSS before → after the storm (peak)',
    samples: [],
    count: '',
    figure: `${mib(ingressRss.before)} → ${mib(ingressRss.after)} (peak ${mib(ingressRss.peak)})`,
    target: { text: 'flat (after ≤ before + 10 %)', met: ingressRss.after <= ingressRss.before * 1.1 },
  });

  const minutes = (Date.now() - began) / 60_000;
  const load = `load average (5 min) ${loadBefore.toFixed(1)} before, ${loadavg()[1]!.toFixed(1)} after`;
  printTable(
    rows,
    `finops-soar bench, ${new Date().toISOString().slice(0, 16)}Z, node ${process.version}, ${minutes.toFixed(1)} min, ${load} on ${availableParallelism()} cores; latencies in ms`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
