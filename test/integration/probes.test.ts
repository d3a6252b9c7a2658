// Liveness and readiness, as a kubelet reads them. The ingress: /healthz answers while the process
// does; /readyz only while Temporal answers (without it every webhook is a 503). The worker (on its
// metrics port): /readyz only once Temporal lists it among its task queue's pollers, and not after it
// stops. Both without credentials, on a real Temporal dev server.
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { serveMetrics } from '../../observability/metrics-server';
import { notPolling } from '../../temporal/readiness';
import { startIngress } from '../helpers/ingress';
import { workflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { startHarness, type Harness } from '../helpers/workflow-harness';

let harness: Harness;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await harness?.close();
});

const probe = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as { status: string; reason?: string } };
};

describe('the ingress', () => {
  test('is alive and ready while Temporal answers, without credentials', async () => {
    const { app, url } = await startIngress(harness);
    closers.push(() => app.close());
    const base = url.replace('/alerts/alertmanager', '');
    expect(await probe(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await probe(`${base}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });
  });

  test('is alive but not ready when Temporal does not answer, and says why', async () => {
    // Nothing listens on port 1, as with Temporal down.
    const unreachable = Connection.lazy({ address: '127.0.0.1:1' });
    const { app, url } = await startIngress(harness, { client: new Client({ connection: unreachable }) });
    closers.push(
      () => app.close(),
      () => unreachable.close(),
    );
    const base = url.replace('/alerts/alertmanager', '');
    expect(await probe(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await probe(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('not ready');
    expect(ready.body.reason).toMatch(/^Temporal does not answer: /);
  });
});

describe('the worker', () => {
  test('is ready only while Temporal lists it among the pollers of its task queue', async () => {
    const taskQueue = 'probes';
    const identity = 'probe-test-worker';
    const worker = await Worker.create({
      connection: harness.env.nativeConnection,
      taskQueue,
      identity,
      workflowBundle: await workflowBundle(),
    });
    const ready = () =>
      worker.getState() === 'RUNNING'
        ? notPolling({ client: harness.env.client, namespace: 'default', taskQueue, identity, timeoutMs: 2_000 })
        : Promise.resolve(`the worker is ${worker.getState().toLowerCase()}`);
    const { server, url } = await serveMetrics(new Registry(), '127.0.0.1', 0, { ready });
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const base = url.replace('/metrics', '');

    expect(await probe(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await probe(`${base}/readyz`)).toEqual({
      status: 503,
      body: { status: 'not ready', reason: 'the worker is initialized' },
    });

    const running = worker.run();
    const answer = await waitFor('the worker to be ready', async () => {
      const seen = await probe(`${base}/readyz`);
      return seen.status === 200 ? seen : undefined;
    });
    expect(answer.body).toEqual({ status: 'ready' });
    // Another identity on the same queue is not this worker.
    expect(
      await notPolling({
        client: harness.env.client,
        namespace: 'default',
        taskQueue,
        identity: 'someone-else',
        timeoutMs: 2_000,
      }),
    ).toMatch(/^this worker \(someone-else\) is not among the \d+ poller\(s\) of task queue probes yet$/);

    worker.shutdown();
    await running;
    expect((await probe(`${base}/readyz`)).status).toBe(503);
  });
});
