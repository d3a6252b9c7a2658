// Serves a prom-client registry on GET /metrics for Prometheus to scrape, beside the process's probes:
// GET /healthz (alive: it answers) and GET /readyz (ready: `ready` finds nothing missing).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Probes {
  /** Undefined when the process is ready, else why not. */
  ready: () => Promise<string | undefined>;
  /** Brings metrics kept elsewhere into the registry before each scrape (the Temporal SDK's buffered metrics). */
  beforeScrape?: () => void;
}

const ALWAYS_READY: Probes = { ready: () => Promise.resolve(undefined) };

export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
  probes: Probes = ALWAYS_READY,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    if (request.method === 'GET' && path === '/healthz') return json(200, { status: 'ok' });
    if (request.method === 'GET' && path === '/readyz') {
      probes.ready().then(
        (reason) => (reason ? json(503, { status: 'not ready', reason }) : json(200, { status: 'ready' })),
        (error: unknown) => json(503, { status: 'not ready', reason: String(error) }),
      );
      return;
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: metrics are on GET /metrics, probes on GET /healthz and /readyz\n');
      return;
    }
    probes.beforeScrape?.();
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) =>
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return { server, url: `http://${host}:${bound}/metrics` };
}
