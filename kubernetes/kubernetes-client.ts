// The Kubernetes calls the actuator makes, behind one small interface, and its implementation on
// the official client (@kubernetes/client-node). Every change is a JSON merge patch: the client's
// default patch content type is JSON Patch, which would make the API server refuse our bodies.
import type {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  ConfigurationOptions,
  KubeConfig,
  ObservableMiddleware,
  RequestContext,
  V1CronJob,
  V1Job,
  V1ObjectMeta,
} from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import type * as ClientNode from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { kubernetesNameProblem, shownName, type BatchKind } from './kubernetes-steps';

type ClientModule = typeof ClientNode;

export interface ObjectRef {
  namespace: string;
  name: string;
}

export type Annotations = Record<string, string>;

/** The extended resource GPU device plugins register (NVIDIA's), as pods request it. */
const GPU_RESOURCE = 'nvidia.com/gpu';

export interface DeploymentState {
  /** spec.replicas: the count asked for. */
  replicas: number;
  /** status.readyReplicas: the pods serving now. */
  readyReplicas: number;
  /** GPUs one pod asks for: the sum of its containers' nvidia.com/gpu limits (0 without). */
  gpusPerReplica: number;
  annotations: Annotations;
}

export interface HpaState {
  minReplicas: number;
  maxReplicas: number;
  annotations: Annotations;
}

export interface BatchObject extends ObjectRef {
  kind: BatchKind;
  suspend: boolean;
  annotations: Annotations;
}

export interface HpaChange {
  minReplicas?: number;
  maxReplicas?: number;
  annotations?: Annotations;
}

export interface BatchChange {
  suspend: boolean;
  annotations?: Annotations;
}

export interface KubernetesAdapter {
  readDeployment(deployment: ObjectRef): Promise<DeploymentState>;
  /** Adds or replaces annotations on the Deployment; the pod template is untouched, so nothing rolls out. */
  annotateDeployment(deployment: ObjectRef, annotations: Annotations): Promise<void>;
  /** spec.replicas as the scale subresource reports it. */
  readScale(deployment: ObjectRef): Promise<number>;
  setScale(deployment: ObjectRef, replicas: number): Promise<void>;
  /** null when no such HorizontalPodAutoscaler exists. */
  readHpa(hpa: ObjectRef): Promise<HpaState | null>;
  /** One merge patch: the bounds and the annotations change together or not at all. */
  patchHpa(hpa: ObjectRef, change: HpaChange): Promise<void>;
  listBatch(kind: BatchKind, namespace: string, labelSelector: string): Promise<BatchObject[]>;
  /** null when the object no longer exists. */
  readBatch(kind: BatchKind, object: ObjectRef): Promise<BatchObject | null>;
  /** One merge patch: spec.suspend and the annotations change together or not at all. */
  patchBatch(kind: BatchKind, object: ObjectRef, change: BatchChange): Promise<void>;
}

/** A failed Kubernetes call; `retryable` says whether trying again can help. */
export class KubernetesError extends Error {
  override name = 'KubernetesError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export interface KubernetesConnectionOptions {
  /** A kubeconfig file; without one (or a server), the pod's service account (in-cluster). */
  kubeconfig?: string | undefined;
  /** An API server URL and bearer token instead of a kubeconfig, e.g. the simulator's. */
  server?: { url: string; token: string } | undefined;
  /** A context of the kubeconfig other than its current-context. */
  context?: string | undefined;
  /** No answer within this time is a retryable failure (the client itself never times out). */
  requestTimeoutMs: number;
  /**
   * Tries of one call on a retryable failure (429, 5xx, a timeout, a conflict) before it goes to the caller, after
   * the Retry-After the server asked for or a jittered exponential backoff; the worker asks for 3. Default 1.
   */
  attempts?: number | undefined;
  /**
   * No try starts that could end (wait plus timeout) past this long after the first began, so the caller's own
   * deadline (the activity's start-to-close timeout) stays ahead of the call's. Default: no bound but `attempts`.
   */
  budgetMs?: number | undefined;
}

/** A Retry-After up to this is waited out in the call; a longer one fails it, for the activity to retry. */
const MAX_RETRY_AFTER_MS = 5_000;
/** The first backoff between tries; each try doubles it, and a random share of it is waited (full jitter). */
const BACKOFF_MS = 250;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry-After in seconds (the API server sends seconds), in ms; undefined when absent. */
function retryAfterMs(error: unknown, lib: ClientModule): number | undefined {
  if (!(error instanceof lib.ApiException)) return undefined;
  const headers = (error.headers ?? {}) as Record<string, string | undefined>;
  const value = headers['retry-after'] ?? headers['Retry-After'];
  const seconds = value === undefined ? NaN : Number(value);
  return Number.isFinite(seconds) ? Math.max(0, seconds * 1_000) : undefined;
}

/** Builds the KubeConfig: a kubeconfig file (and context) when given, else the in-cluster service account. */
function loadKubeConfig(
  lib: ClientModule,
  options: Pick<KubernetesConnectionOptions, 'kubeconfig' | 'server' | 'context'>,
): KubeConfig {
  const config = new lib.KubeConfig();
  if (options.server) {
    if (options.kubeconfig)
      throw new Error('kubernetes: set either a kubeconfig file or a server URL and token, not both');
    const { url, token } = options.server;
    config.loadFromOptions({
      // A plain http:// server (the simulator) needs skipTLSVerify, or the client refuses to connect.
      clusters: [{ name: 'configured', server: url, skipTLSVerify: url.startsWith('http:') }],
      users: [{ name: 'finops-soar', token }],
      contexts: [{ name: 'configured', cluster: 'configured', user: 'finops-soar' }],
      currentContext: 'configured',
    });
    return config;
  }
  if (!options.kubeconfig) {
    if (options.context)
      throw new Error(
        `kubernetes: context ${options.context} needs a kubeconfig file; set the kubeconfig path too, or drop the context to use the in-cluster service account`,
      );
    // Outside a pod the client would build https://undefined:undefined and fail every call as "unreachable".
    if (!process.env.KUBERNETES_SERVICE_HOST)
      throw new Error(
        'kubernetes: no kubeconfig file is set and this process does not run in a cluster (KUBERNETES_SERVICE_HOST is unset); set the kubeconfig path',
      );
    config.loadFromCluster();
    return config;
  }
  config.loadFromFile(options.kubeconfig);
  if (options.context) {
    if (!config.getContextObject(options.context)) {
      const known = config.getContexts().map((context) => context.name);
      throw new Error(
        `kubernetes: the kubeconfig ${options.kubeconfig} has no context ${options.context}; it has: ${known.join(', ') || 'none'}`,
      );
    }
    config.setCurrentContext(options.context);
  }
  if (!config.getCurrentCluster())
    throw new Error(
      `kubernetes: the kubeconfig ${options.kubeconfig} selects no cluster; set current-context or the context option`,
    );
  return config;
}

/**
 * Stands in when no cluster is configured: every call fails, not retryably, saying how to configure
 * one, so playbooks that never touch Kubernetes run and one that does explains itself in its run.
 */
export function unconfiguredKubernetes(reason: string): KubernetesAdapter {
  const refuse = () => Promise.reject(new KubernetesError(`Kubernetes is not configured: ${reason}`, false));
  return {
    readDeployment: refuse,
    annotateDeployment: refuse,
    readScale: refuse,
    setScale: refuse,
    readHpa: refuse,
    patchHpa: refuse,
    listBatch: refuse,
    readBatch: refuse,
    patchBatch: refuse,
  };
}

/** The adapter on the official client. Async because the client is an ES module, loaded with import(). */
export async function createKubernetesAdapter(options: KubernetesConnectionOptions): Promise<KubernetesAdapter> {
  const lib = await import('@kubernetes/client-node');
  const config = loadKubeConfig(lib, options);
  return new ClientNodeAdapter(
    lib,
    config,
    options.requestTimeoutMs,
    options.attempts ?? 1,
    options.budgetMs ?? Infinity,
  );
}

const RESOURCES = {
  deployment: { resource: 'deployments.apps', kind: 'deployment' },
  scale: { resource: 'deployments.apps/scale', kind: 'deployment' },
  hpa: { resource: 'horizontalpodautoscalers.autoscaling', kind: 'horizontalpodautoscaler' },
  cronjobs: { resource: 'cronjobs.batch', kind: 'cronjob' },
  jobs: { resource: 'jobs.batch', kind: 'job' },
} as const;

type Resource = keyof typeof RESOURCES;

interface Call {
  verb: 'get' | 'list' | 'patch';
  resource: Resource;
  namespace: string;
  /** Absent for a list. */
  name?: string;
}

interface StatusBody {
  reason?: string;
  message?: string;
}

const annotationsOf = (metadata: V1ObjectMeta | undefined): Annotations => ({ ...metadata?.annotations });

function fixFor(status: number, reason: string | undefined, call: Call): string {
  const { resource, kind } = RESOURCES[call.resource];
  if (status === 401)
    return 'the API server refused the credentials: renew the token or certificate in the kubeconfig (or the service account token)';
  if (status === 403)
    return `grant the worker's identity RBAC permission to ${call.verb} ${resource} in namespace ${call.namespace}`;
  if (status === 404)
    return `check that ${kind} ${call.namespace}/${call.name ?? ''} exists: the alert's labels or the step's params name it`;
  if (status === 409)
    return reason === 'Conflict'
      ? 'the object changed meanwhile; the activity retries'
      : 'the object is in a state that refuses this change; inspect it with kubectl';
  if (status === 415)
    return 'the API server does not accept this patch content type: report this request as a bug in finops-soar';
  if (status === 422) return "the API server found the change invalid: fix the step's params";
  if (status === 429) return 'the API server is throttling requests; the activity retries';
  if (status >= 500) return 'the API server failed; the activity retries';
  return "check the step's params; if they are right, report this request as a bug";
}

/** Non-2xx answers, connection failures and timeouts, as KubernetesErrors that name the object and the fix. */
function classify(error: unknown, call: Call, server: string, timeoutMs: number, lib: ClientModule): KubernetesError {
  const { kind } = RESOURCES[call.resource];
  const object = call.name ? `${kind} ${call.namespace}/${call.name}` : `${kind}s in ${call.namespace}`;
  const subresource = call.resource === 'scale' ? ' (scale)' : '';
  const what = `kubernetes ${call.verb} ${object}${subresource}`;
  if (error instanceof lib.ApiException) {
    const status = error.code;
    let body: StatusBody = {};
    try {
      body = typeof error.body === 'string' ? (JSON.parse(error.body) as StatusBody) : {};
    } catch {
      // a proxy's HTML error page, not a Status: the code alone must do
    }
    const retryable = status === 429 || status >= 500 || (status === 409 && body.reason === 'Conflict');
    const said = [body.reason, body.message].filter(Boolean).join(': ');
    return new KubernetesError(
      `${what} answered ${status}${said ? ` ${said}` : ''}. Fix: ${fixFor(status, body.reason, call)}`,
      retryable,
      status,
      body.reason,
    );
  }
  if (error instanceof lib.AbortError)
    return new KubernetesError(`${what}: no answer from ${server} within ${timeoutMs} ms; the activity retries`, true);
  if (error instanceof lib.FetchError) {
    return new KubernetesError(
      `${what}: cannot reach the API server at ${server} (${error.code ?? error.message}); check the kubeconfig's server and the network; the activity retries`,
      true,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new KubernetesError(`${what}: the client failed before sending (${message}); check the kubeconfig`, false);
}

/**
 * The last check before a name goes into a request path (the client percent-encodes "/" but not ".."): a
 * namespace or name Kubernetes would not accept fails here, not retryably, and nothing is sent.
 */
function refuseInvalidNames({ verb, resource, namespace, name }: Call): void {
  const problems = [
    ['namespace', namespace, kubernetesNameProblem('namespace', namespace)],
    ...(name === undefined ? [] : [['name', name, kubernetesNameProblem('object', name)]]),
  ].filter(([, , problem]) => problem !== null);
  if (problems.length > 0)
    throw new KubernetesError(
      `kubernetes ${verb} ${RESOURCES[resource].kind}: ${problems.map(([what, value, problem]) => `${what} ${shownName(value!)} is ${problem}`).join('; ')}; nothing was sent`,
      false,
    );
}

class ClientNodeAdapter implements KubernetesAdapter {
  private readonly apps: AppsV1Api;
  private readonly autoscaling: AutoscalingV2Api;
  private readonly batch: BatchV1Api;
  private readonly server: string;

  constructor(
    private readonly lib: ClientModule,
    config: KubeConfig,
    private readonly timeoutMs: number,
    private readonly attempts: number,
    private readonly budgetMs: number,
  ) {
    this.apps = config.makeApiClient(lib.AppsV1Api);
    this.autoscaling = config.makeApiClient(lib.AutoscalingV2Api);
    this.batch = config.makeApiClient(lib.BatchV1Api);
    this.server = config.getCurrentCluster()?.server ?? '(no server)';
  }

  /** Per-call options: a deadline on every request, and the merge-patch content type on patches. */
  private options(patch = false): ConfigurationOptions<ObservableMiddleware> {
    const timeoutMs = this.timeoutMs;
    const Observable = this.lib.Observable;
    const deadline: ObservableMiddleware = {
      pre: (request: RequestContext) => {
        request.setSignal(AbortSignal.timeout(timeoutMs));
        return new Observable(Promise.resolve(request));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    };
    const options: ConfigurationOptions<ObservableMiddleware> = {
      middleware: [deadline],
      middlewareMergeStrategy: 'append',
    };
    return patch ? this.lib.setHeaderOptions('Content-Type', this.lib.PatchStrategy.MergePatch, options) : options;
  }

  /**
   * One call, tried again on a retryable failure after the server's Retry-After, else a backoff with full jitter so
   * that runs retrying together spread out. Patches are merge patches of absolute values: repeating one is harmless.
   */
  private async call<T>(call: Call, send: () => Promise<T>): Promise<T> {
    refuseInvalidNames(call);
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await send();
      } catch (error) {
        const failure = classify(error, call, this.server, this.timeoutMs, this.lib);
        const asked = retryAfterMs(error, this.lib);
        if (!failure.retryable || attempt >= this.attempts || (asked ?? 0) > MAX_RETRY_AFTER_MS) throw failure;
        const jitter = Math.random() * BACKOFF_MS * 2 ** (attempt - 1);
        const wait = asked === undefined ? jitter : asked + jitter / 4;
        if (Date.now() - started + wait + this.timeoutMs > this.budgetMs) throw failure;
        await sleep(wait);
      }
    }
  }

  /** A read that answers null for a 404 instead of failing. */
  private async readOrNull<T>(call: Call, send: () => Promise<T>): Promise<T | null> {
    try {
      return await this.call(call, send);
    } catch (error) {
      if (error instanceof KubernetesError && error.status === 404) return null;
      throw error;
    }
  }

  async readDeployment({ namespace, name }: ObjectRef): Promise<DeploymentState> {
    const deployment = await this.call({ verb: 'get', resource: 'deployment', namespace, name }, () =>
      this.apps.readNamespacedDeployment({ namespace, name }, this.options()),
    );
    const containers = deployment.spec?.template.spec?.containers ?? [];
    return {
      replicas: deployment.spec?.replicas ?? 1,
      readyReplicas: deployment.status?.readyReplicas ?? 0,
      gpusPerReplica: containers.reduce(
        (sum, { resources }) => sum + Number(resources?.limits?.[GPU_RESOURCE] ?? 0),
        0,
      ),
      annotations: annotationsOf(deployment.metadata),
    };
  }

  async annotateDeployment({ namespace, name }: ObjectRef, annotations: Annotations): Promise<void> {
    await this.call({ verb: 'patch', resource: 'deployment', namespace, name }, () =>
      this.apps.patchNamespacedDeployment({ namespace, name, body: { metadata: { annotations } } }, this.options(true)),
    );
  }

  async readScale({ namespace, name }: ObjectRef): Promise<number> {
    const scale = await this.call({ verb: 'get', resource: 'scale', namespace, name }, () =>
      this.apps.readNamespacedDeploymentScale({ namespace, name }, this.options()),
    );
    return scale.spec?.replicas ?? 0;
  }

  async setScale({ namespace, name }: ObjectRef, replicas: number): Promise<void> {
    await this.call({ verb: 'patch', resource: 'scale', namespace, name }, () =>
      this.apps.patchNamespacedDeploymentScale({ namespace, name, body: { spec: { replicas } } }, this.options(true)),
    );
  }

  async readHpa({ namespace, name }: ObjectRef): Promise<HpaState | null> {
    const hpa = await this.readOrNull({ verb: 'get', resource: 'hpa', namespace, name }, () =>
      this.autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name }, this.options()),
    );
    // The API server defaults minReplicas to 1 when the manifest leaves it out.
    return (
      hpa && {
        minReplicas: hpa.spec?.minReplicas ?? 1,
        maxReplicas: hpa.spec?.maxReplicas ?? 1,
        annotations: annotationsOf(hpa.metadata),
      }
    );
  }

  async patchHpa({ namespace, name }: ObjectRef, { minReplicas, maxReplicas, annotations }: HpaChange): Promise<void> {
    const body = { ...(annotations && { metadata: { annotations } }), spec: { minReplicas, maxReplicas } };
    await this.call({ verb: 'patch', resource: 'hpa', namespace, name }, () =>
      this.autoscaling.patchNamespacedHorizontalPodAutoscaler({ namespace, name, body }, this.options(true)),
    );
  }

  async listBatch(kind: BatchKind, namespace: string, labelSelector: string): Promise<BatchObject[]> {
    const call: Call = { verb: 'list', resource: kind, namespace };
    const list =
      kind === 'cronjobs'
        ? await this.call(call, () => this.batch.listNamespacedCronJob({ namespace, labelSelector }, this.options()))
        : await this.call(call, () => this.batch.listNamespacedJob({ namespace, labelSelector }, this.options()));
    return list.items.map((item: V1CronJob | V1Job) => batchObjectOf(kind, namespace, item));
  }

  async readBatch(kind: BatchKind, { namespace, name }: ObjectRef): Promise<BatchObject | null> {
    const call: Call = { verb: 'get', resource: kind, namespace, name };
    const item =
      kind === 'cronjobs'
        ? await this.readOrNull(call, () => this.batch.readNamespacedCronJob({ namespace, name }, this.options()))
        : await this.readOrNull(call, () => this.batch.readNamespacedJob({ namespace, name }, this.options()));
    return item && batchObjectOf(kind, namespace, item);
  }

  async patchBatch(
    kind: BatchKind,
    { namespace, name }: ObjectRef,
    { suspend, annotations }: BatchChange,
  ): Promise<void> {
    const body = { ...(annotations && { metadata: { annotations } }), spec: { suspend } };
    const call: Call = { verb: 'patch', resource: kind, namespace, name };
    if (kind === 'cronjobs')
      await this.call(call, () => this.batch.patchNamespacedCronJob({ namespace, name, body }, this.options(true)));
    else await this.call(call, () => this.batch.patchNamespacedJob({ namespace, name, body }, this.options(true)));
  }
}

const batchObjectOf = (kind: BatchKind, namespace: string, item: V1CronJob | V1Job): BatchObject => ({
  kind,
  namespace: item.metadata?.namespace ?? namespace,
  name: item.metadata?.name ?? '',
  suspend: item.spec?.suspend ?? false,
  annotations: annotationsOf(item.metadata),
});
