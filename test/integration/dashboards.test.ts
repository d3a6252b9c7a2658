// The Grafana dashboards (observability/dashboards/, written by `npm run dashboards`): the committed JSON is what
// the generator makes now, so nobody edits it by hand; and every query of every panel parses as PromQL and
// answers data from a real Prometheus scraping what the dashboards read: the simulated platform (live clock), the
// real ingress (an alert posted to its webhook) and the worker's engine registry on the worker's metrics server,
// with the repository's rule files (the budget burn rates). Grafana's variables are replaced by concrete values.
//
// The engine metrics only a real worker process serves (WORKER_PROCESS_METRICS) are checked here to parse (a parse
// error is Prometheus's 400); test/integration/engine-metrics.test.ts checks their data against a real worker.
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { FastifyInstance } from 'fastify';
import { buildIngressApp } from '../../ingress/app';
import { DASHBOARDS, dashboardJson } from '../../observability/dashboards/index';
import { EngineMetrics } from '../../observability/engine-metrics';
import { serveMetrics } from '../../observability/metrics-server';
import { alert, payload } from '../helpers/alerts';
import { ALL_TARGETS, readsWorkerProcess, substitute, targets } from '../helpers/dashboard-queries';
import { INGRESS_TOKEN, testIngressOptions } from '../helpers/ingress';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';
import { startLivePlatform, type LivePlatform } from '../helpers/simulated-platform';
import { waitFor } from '../helpers/wait';

jest.setTimeout(240_000);

const ROOT = resolve(__dirname, '../..');
const DASHBOARD_DIR = join(ROOT, 'deploy', 'grafana', 'dashboards');
const RULES_DIR = join(ROOT, 'deploy', 'prometheus', 'rules');

describe('the committed dashboards', () => {
  test.each(Object.keys(DASHBOARDS))(
    'deploy/grafana/dashboards/%s.json is what `npm run dashboards` writes',
    (name) => {
      expect(readFileSync(join(DASHBOARD_DIR, `${name}.json`), 'utf8')).toBe(dashboardJson(DASHBOARDS[name]!()));
    },
  );

  test('no other dashboard file is there, and each links to the Temporal UI and its runbook', () => {
    expect(readdirSync(DASHBOARD_DIR).sort()).toEqual(
      Object.keys(DASHBOARDS)
        .map((name) => `${name}.json`)
        .sort(),
    );
    for (const build of Object.values(DASHBOARDS)) {
      const { links = [], templating } = build();
      expect(links.map(({ url }) => url)).toEqual(
        expect.arrayContaining([
          '${temporal_ui}/namespaces/default/workflows',
          expect.stringMatching(/^\$\{docs\}\/\w/),
        ]),
      );
      const temporalUi = templating.list?.find(({ name }) => name === 'temporal_ui');
      expect(temporalUi?.query).toBe('http://localhost:8233');
    }
  });

  test('every panel has a query', () => {
    for (const [name, build] of Object.entries(DASHBOARDS))
      for (const panel of build().panels ?? [])
        expect([name, panel.title, targets(name, { panels: [panel] } as Dashboard).length > 0]).toEqual([
          name,
          panel.title,
          true,
        ]);
  });
});

describe('every query against a real Prometheus', () => {
  let live: LivePlatform;
  let ingress: FastifyInstance;
  let client: Client;
  let worker: Server;
  let prometheus: RunningPrometheus;
  const engine = new EngineMetrics();

  beforeAll(async () => {
    live = await startLivePlatform({ seed: 17 });
    // Throttling for the capacity dashboard's 429 panels: acme's chat (about 12 requests a second) limited to 2.
    live.platform.store.patch({ route: 'chat', tenant: 'acme' }, { rateLimitRps: 2 });
    // The real ingress; an unrouted alert never reaches Temporal, so a connection that is never made will do.
    client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    ingress = buildIngressApp(testIngressOptions(client));
    await ingress.listen({ host: '127.0.0.1', port: 0 });
    const ingressHost = `127.0.0.1:${(ingress.server.address() as AddressInfo).port}`;
    const posted = await fetch(`http://${ingressHost}/alerts/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGRESS_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload([alert({ alertname: 'NoPlaybookMatchesThis', tenant: 'acme', route: 'chat' })])),
    });
    expect(posted.status).toBe(200);
    // The worker's engine registry on the worker's metrics server, as a run that rolled back reports it.
    engine.recordSavings({ runId: 'run-1', playbook: 'cost-s2', savedUsd: 42.5, hours: 1.5 });
    engine.recordSavings({ runId: 'run-2', playbook: 'capacity-s2', savedUsd: -12, hours: 0.5 });
    engine.recordBudget('platform', { budgetUsd: 5_000_000, spentUsd: 1_200_000, forecastUsd: 4_600_000 });
    ({ server: worker } = await serveMetrics(engine.registry, '127.0.0.1', 0));
    const workerHost = `127.0.0.1:${(worker.address() as AddressInfo).port}`;
    prometheus = await startPrometheus('', {
      scrape: [new URL(live.platform.urls.gateway).host, ingressHost, workerHost],
      ruleFiles: readdirSync(RULES_DIR)
        .filter((file) => file.endsWith('.yml'))
        .map((file) => join(RULES_DIR, file)),
    });
  });

  afterAll(async () => {
    await prometheus?.close();
    await new Promise<void>((done) => (worker ? worker.close(() => done()) : done()));
    await ingress?.close();
    await client?.connection.close().catch(() => undefined);
    await live?.close();
  });

  const query = async (expr: string) => {
    const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    return { status: response.status, body };
  };

  test.each(ALL_TARGETS.map((target) => [`${target.dashboard} / ${target.panel}: ${target.expr}`, target] as const))(
    '%s',
    async (_title, { expr }) => {
      const concrete = substitute(expr);
      const parsed = await query(concrete);
      expect([concrete, parsed.status, parsed.body.error]).toEqual([concrete, 200, undefined]);
      if (readsWorkerProcess(expr)) return;
      await waitFor(
        `data for ${concrete}`,
        async () => ((await query(concrete)).body.data?.result.length ?? 0) > 0,
        // The long-window burn rates are recorded every 2 minutes.
        150_000,
      );
    },
  );
});
