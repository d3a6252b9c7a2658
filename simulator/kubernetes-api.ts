// The simulator's Kubernetes API server (and the tests'), for exactly the resources the actuator touches:
// apps/v1 Deployments (and their scale subresource), autoscaling/v2 HorizontalPodAutoscalers,
// batch/v1 CronJobs and Jobs. It speaks the real REST paths, bearer auth, JSON merge patches,
// label selectors and Status error bodies, keeps objects in memory, records every request, counts
// mutations, and can fail the next requests on demand. No controllers run: scaling changes
// spec.replicas, never status.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reachableHost } from '../config/local-stack';
import { ServerFaults, sleep } from './faults';

export const KUBE_TOKEN = 'kube-api-server-test-token';

/** A kubeconfig with one context per cluster (named like it), all with the same bearer token. */
export function kubeconfigYaml(clusters: Record<string, string>, token: string, currentContext: string): string {
  const names = Object.keys(clusters);
  // An http:// server needs insecure-skip-tls-verify, or the client refuses to connect.
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    ...names.map(
      (name) =>
        `  - name: ${name}\n    cluster:\n      server: ${clusters[name]}\n      insecure-skip-tls-verify: true`,
    ),
    'users:',
    `  - name: finops-soar\n    user:\n      token: ${JSON.stringify(token)}`,
    'contexts:',
    ...names.map(
      (name) => `  - name: ${name}\n    context: { cluster: ${name}, user: finops-soar, namespace: default }`,
    ),
    `current-context: ${currentContext}`,
    '',
  ].join('\n');
}

const RESOURCES = {
  deployments: { groupVersion: 'apps/v1', group: 'apps', kind: 'Deployment' },
  horizontalpodautoscalers: { groupVersion: 'autoscaling/v2', group: 'autoscaling', kind: 'HorizontalPodAutoscaler' },
  cronjobs: { groupVersion: 'batch/v1', group: 'batch', kind: 'CronJob' },
  jobs: { groupVersion: 'batch/v1', group: 'batch', kind: 'Job' },
} as const;

export type ResourceName = keyof typeof RESOURCES;

type Json = Record<string, unknown>;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Json;
  status?: Json;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  authorization: string | undefined;
  /** The parsed JSON body, when there was one. */
  body: unknown;
}

export interface SeedObject {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Fault {
  remaining: number;
  /** The status to answer, or 'hang': never answer (until close()), so the client's deadline fires. */
  status: number | 'hang';
  when: (request: RecordedRequest) => boolean;
}

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }
}

const REASONS: Record<number, string> = {
  403: 'Forbidden',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

const statusBody = (error: StatusError) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: error.message,
  reason: error.reason,
  ...(error.details && { details: error.details }),
  code: error.code,
});

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Json = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

const LABEL = /^[A-Za-z0-9][-A-Za-z0-9_./]*$/;

/** Splits a selector at the commas that separate requirements, not those inside `in (a,b)`. */
function requirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter(Boolean);
}

/** Equality-based (`a=b`, `a==b`, `a!=b`) and set-based (`a in (x,y)`, `a notin (x)`, `a`, `!a`) selectors. */
function labelSelectorMatches(selector: string, labels: Record<string, string>): boolean {
  return requirements(selector).every((requirement) => {
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(requirement);
    if (set && LABEL.test(set[1]!)) {
      const values = set[3]!.split(',').map((value) => value.trim());
      const has = set[1]! in labels && values.includes(labels[set[1]!]!);
      return set[2] === 'in' ? has : !has;
    }
    const equality = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(requirement);
    if (equality && LABEL.test(equality[1]!)) {
      const equal = labels[equality[1]!] === equality[3];
      return equality[2] === '!=' ? !equal : equal;
    }
    const exists = /^(!?)\s*(\S+)$/.exec(requirement);
    if (exists && LABEL.test(exists[2]!)) return exists[2]! in labels !== (exists[1] === '!');
    throw new StatusError(400, 'BadRequest', `unable to parse requirement: ${JSON.stringify(requirement)}`);
  });
}

const PATH = /^\/apis\/([a-z0-9.]+\/v[0-9a-z]+)\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+)(?:\/(scale))?)?$/;

const MERGE_PATCH = 'application/merge-patch+json';
// The real server also accepts these; this server deliberately implements merge patches only, so
// a client that sends any other type (the official client's default is JSON Patch) fails loudly.
const ACCEPTED_PATCH_TYPES =
  'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json, application/apply-patch+cbor';

export class KubeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Successful PATCH requests: "the second apply changed nothing" means this did not move. */
  mutations = 0;
  /** The PATCH requests that were applied (not refused), in order. */
  readonly applied: RecordedRequest[] = [];
  /** Faults on a rate and held answers, for the fault tests. */
  readonly rateFaults = new ServerFaults();
  private readonly objects = new Map<string, KubeObject>();
  private readonly faults: Fault[] = [];
  private readonly tempDirs: string[] = [];
  private resourceVersion = 1000;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly token: string,
  ) {}

  /** Listens on `host:port` (default: a free loopback port) and accepts `token` as the bearer token. */
  static async start(options: { token?: string; host?: string; port?: number } = {}): Promise<KubeApiServer> {
    const server = createServer();
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
    const { port } = server.address() as AddressInfo;
    const instance = new KubeApiServer(server, `http://${reachableHost(host)}:${port}`, options.token ?? KUBE_TOKEN);
    server.on(
      'request',
      (request: IncomingMessage, response: ServerResponse) => void instance.handle(request, response),
    );
    return instance;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
    await Promise.all(this.tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  /** Forgets every object, request, mutation and pending fault. */
  reset(): void {
    this.objects.clear();
    this.requests.length = 0;
    this.faults.length = 0;
    this.mutations = 0;
    this.applied.length = 0;
  }

  /**
   * The next `count` requests for which `when` holds (all by default) answer `status` (500 by default) or never answer
   * ('hang').
   */
  failNext(
    count: number,
    options: { status?: number | 'hang'; when?: (request: RecordedRequest) => boolean } = {},
  ): void {
    this.faults.push({ remaining: count, status: options.status ?? 500, when: options.when ?? (() => true) });
  }

  /** The requests that changed something (PATCH), in order. */
  get patches(): RecordedRequest[] {
    return this.requests.filter((request) => request.method === 'PATCH');
  }

  addDeployment(seed: SeedObject & { replicas: number; readyReplicas?: number; gpusPerReplica?: number }): KubeObject {
    const resources = seed.gpusPerReplica ? { limits: { 'nvidia.com/gpu': String(seed.gpusPerReplica) } } : {};
    return this.put('deployments', seed, {
      spec: {
        replicas: seed.replicas,
        selector: { matchLabels: { app: seed.name } },
        template: {
          metadata: { labels: { app: seed.name } },
          spec: { containers: [{ name: 'server', image: 'vllm/vllm-openai:v0.6.3', resources }] },
        },
      },
      status: { replicas: seed.replicas, readyReplicas: seed.readyReplicas ?? seed.replicas },
    });
  }

  addHpa(seed: SeedObject & { minReplicas: number; maxReplicas: number; deployment?: string }): KubeObject {
    return this.put('horizontalpodautoscalers', seed, {
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: seed.deployment ?? seed.name },
        minReplicas: seed.minReplicas,
        maxReplicas: seed.maxReplicas,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
    });
  }

  addCronJob(seed: SeedObject & { suspend?: boolean; schedule?: string }): KubeObject {
    return this.put('cronjobs', seed, {
      spec: {
        schedule: seed.schedule ?? '0 2 * * *',
        ...(seed.suspend !== undefined && { suspend: seed.suspend }),
        jobTemplate: { spec: {} },
      },
    });
  }

  addJob(seed: SeedObject & { suspend?: boolean }): KubeObject {
    return this.put('jobs', seed, {
      spec: { ...(seed.suspend !== undefined && { suspend: seed.suspend }), template: { spec: {} } },
    });
  }

  /** A deep copy of the stored object, or undefined. */
  get(resource: ResourceName, namespace: string, name: string): KubeObject | undefined {
    const object = this.objects.get(`${resource}/${namespace}/${name}`);
    return object && structuredClone(object);
  }

  /**
   * Writes a kubeconfig for this server (context `kube-api-server`) beside a context for a dead cluster (`elsewhere`).
   */
  async writeKubeconfig(
    options: { token?: string; currentContext?: 'kube-api-server' | 'elsewhere' } = {},
  ): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'kube-api-server-'));
    this.tempDirs.push(dir);
    const path = join(dir, 'kubeconfig.yaml');
    const clusters = { 'kube-api-server': this.url, elsewhere: 'http://127.0.0.1:1' };
    await writeFile(
      path,
      kubeconfigYaml(clusters, options.token ?? this.token, options.currentContext ?? 'kube-api-server'),
      { mode: 0o600 },
    );
    return path;
  }

  private put(resource: ResourceName, seed: SeedObject, body: { spec: Json; status?: Json }): KubeObject {
    const { groupVersion, kind } = RESOURCES[resource];
    const object: KubeObject = {
      apiVersion: groupVersion,
      kind,
      metadata: {
        name: seed.name,
        namespace: seed.namespace,
        uid: randomUUID(),
        resourceVersion: String(++this.resourceVersion),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        ...(seed.labels && { labels: seed.labels }),
        ...(seed.annotations && { annotations: seed.annotations }),
      },
      ...body,
    };
    this.objects.set(`${resource}/${seed.namespace}/${seed.name}`, object);
    return structuredClone(object);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const raw = await new Promise<string>((resolve) => {
      let text = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (text += chunk));
      request.on('end', () => resolve(text));
    });
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: request.headers['content-type'],
      authorization: request.headers.authorization,
      body,
    };
    this.requests.push(recorded);
    const send = (code: number, payload: unknown) => {
      response.writeHead(code, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    try {
      if (recorded.authorization !== `Bearer ${this.token}`) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
      const fault = this.faults.find((candidate) => candidate.remaining > 0 && candidate.when(recorded));
      if (fault) {
        fault.remaining -= 1;
        if (fault.status === 'hang') return;
        throw new StatusError(
          fault.status,
          REASONS[fault.status] ?? 'InternalError',
          `injected fault: ${fault.status} for ${recorded.method} ${recorded.path}`,
        );
      }
      // An injected fault refuses the request before it is applied.
      const injected = this.rateFaults.rate?.draw(recorded.method, recorded.path);
      if (injected?.kind === 'timeout') await sleep(injected.delayMs);
      if (injected?.kind === 'slow') await sleep(injected.delayMs);
      else if (injected?.kind === 'throttle') {
        response.setHeader('Retry-After', String(injected.retryAfterSeconds));
        throw new StatusError(
          429,
          REASONS[429]!,
          `injected fault: too many requests, retry after ${injected.retryAfterSeconds} s`,
        );
      } else if (injected)
        throw new StatusError(
          injected.status,
          REASONS[injected.status] ?? 'InternalError',
          `injected fault: ${injected.status}`,
        );
      const answer = this.route(recorded, raw);
      // Applied, and held: the caller learns of it only once the test releases the hold.
      await this.rateFaults.hold.after(recorded.method, recorded.path);
      send(200, answer);
    } catch (error) {
      const status =
        error instanceof StatusError
          ? error
          : new StatusError(500, 'InternalError', `kube-api-server bug: ${String(error)}`);
      send(status.code, statusBody(status));
    }
  }

  private route(request: RecordedRequest, raw: string): unknown {
    const match = PATH.exec(request.path);
    const resource = match?.[3] as ResourceName | undefined;
    if (
      !match ||
      !resource ||
      !(resource in RESOURCES) ||
      RESOURCES[resource].groupVersion !== match[1] ||
      (match[5] && resource !== 'deployments')
    ) {
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const namespace = decodeURIComponent(match[2]!);
    const name = match[4] && decodeURIComponent(match[4]);
    const subresource = match[5];
    if (!name) {
      if (request.method !== 'GET')
        throw new StatusError(
          405,
          'MethodNotAllowed',
          `the server does not allow this method on the requested resource`,
        );
      return this.list(resource, namespace, request.query.labelSelector ?? '');
    }
    const key = `${resource}/${namespace}/${name}`;
    const object = this.objects.get(key);
    const { group, kind } = RESOURCES[resource];
    if (!object) {
      throw new StatusError(404, 'NotFound', `${resource}.${group} "${name}" not found`, {
        name,
        group,
        kind: resource,
      });
    }
    if (request.method === 'GET') return subresource ? scaleOf(object) : object;
    if (request.method !== 'PATCH')
      throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');

    const mediaType = request.contentType?.split(';')[0]?.trim();
    if (mediaType !== MERGE_PATCH) {
      throw new StatusError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${ACCEPTED_PATCH_TYPES}`,
      );
    }
    if (!isObject(request.body)) throw new StatusError(400, 'BadRequest', `error decoding patch: ${raw.slice(0, 100)}`);

    let next: KubeObject;
    if (subresource) {
      const scale = mergePatch(scaleOf(object), request.body) as { spec?: { replicas?: unknown } };
      const replicas = scale.spec?.replicas;
      if (!Number.isInteger(replicas) || (replicas as number) < 0) {
        throw new StatusError(
          422,
          'Invalid',
          `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        );
      }
      next = { ...structuredClone(object), spec: { ...object.spec, replicas } };
    } else {
      next = mergePatch(object, request.body) as KubeObject;
      next.metadata = {
        ...next.metadata,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
      };
      validate(resource, kind, group, next);
    }
    if (JSON.stringify(next) !== JSON.stringify(object)) {
      if (JSON.stringify(next.spec) !== JSON.stringify(object.spec)) next.metadata.generation += 1;
      next.metadata.resourceVersion = String(++this.resourceVersion);
      this.objects.set(key, next);
    }
    this.mutations += 1;
    this.applied.push(request);
    return subresource ? scaleOf(next) : next;
  }

  private list(resource: ResourceName, namespace: string, selector: string): unknown {
    const { groupVersion, kind } = RESOURCES[resource];
    const items = [...this.objects.entries()]
      .filter(([key]) => key.startsWith(`${resource}/${namespace}/`))
      .map(([, object]) => object)
      .filter((object) => labelSelectorMatches(selector, object.metadata.labels ?? {}))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      // Items of a typed list carry no kind/apiVersion on the wire.
      .map(({ metadata, spec, status }) => ({ metadata, spec, ...(status && { status }) }));
    return {
      kind: `${kind}List`,
      apiVersion: groupVersion,
      metadata: { resourceVersion: String(this.resourceVersion) },
      items,
    };
  }
}

/** The autoscaling/v1 Scale the subresource shows for a Deployment. */
const scaleOf = (deployment: KubeObject) => ({
  kind: 'Scale',
  apiVersion: 'autoscaling/v1',
  metadata: {
    name: deployment.metadata.name,
    namespace: deployment.metadata.namespace,
    uid: deployment.metadata.uid,
    resourceVersion: deployment.metadata.resourceVersion,
    creationTimestamp: deployment.metadata.creationTimestamp,
  },
  spec: { replicas: deployment.spec.replicas },
  status: { replicas: deployment.status?.replicas ?? 0, selector: `app=${deployment.metadata.name}` },
});

/** The validation the real server applies to the fields this server's clients change. */
function validate(resource: ResourceName, kind: string, group: string, object: KubeObject): void {
  const invalid = (field: string, value: unknown, why: string) =>
    new StatusError(
      422,
      'Invalid',
      `${kind}.${group} "${object.metadata.name}" is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${why}`,
    );
  const { spec } = object;
  if (resource === 'deployments' && (!Number.isInteger(spec.replicas) || (spec.replicas as number) < 0)) {
    throw invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0');
  }
  if (resource === 'horizontalpodautoscalers') {
    if (!Number.isInteger(spec.minReplicas) || (spec.minReplicas as number) < 1)
      throw invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1');
    if (!Number.isInteger(spec.maxReplicas) || (spec.maxReplicas as number) < (spec.minReplicas as number)) {
      throw invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`');
    }
  }
  if (
    (resource === 'cronjobs' || resource === 'jobs') &&
    spec.suspend !== undefined &&
    typeof spec.suspend !== 'boolean'
  ) {
    throw invalid('spec.suspend', spec.suspend, 'must be a boolean');
  }
  const annotations: unknown = object.metadata.annotations;
  if (
    annotations !== undefined &&
    (!isObject(annotations) || Object.values(annotations).some((value) => typeof value !== 'string'))
  ) {
    throw new StatusError(
      400,
      'BadRequest',
      `${kind} in version "${group}" cannot be handled: metadata.annotations values must be strings`,
    );
  }
}
