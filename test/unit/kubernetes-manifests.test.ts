// The Kubernetes manifests (deploy/kubernetes) checked offline: every object against the Kubernetes API schemas
// (kubernetes-models), and what people rely on when they `kubectl apply -k` them: the RBAC is exactly the calls the
// actuator makes (recorded on the wire, not copied from the YAML), probes on the paths and ports the processes
// serve, replicas, resources, disruption budgets, Services, secrets only as files, and a ConfigMap the engine's own
// loader accepts with the files each pod mounts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ENV_OVERRIDES, loadConfig } from '../../config/config-load';
import type { Config } from '../../config/config-schema';
import {
  createKubernetesAdapter,
  unconfiguredKubernetes,
  type KubernetesAdapter,
} from '../../kubernetes/kubernetes-client';
import { loadPlaybooks } from '../../playbook/playbook-load';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment' with { 'resolution-mode': 'import' };
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy' with {
  'resolution-mode': 'import',
};
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget' with {
  'resolution-mode': 'import',
};
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role' with { 'resolution-mode': 'import' };
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding' with {
  'resolution-mode': 'import',
};
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap' with { 'resolution-mode': 'import' };
import type { IContainer } from 'kubernetes-models/v1/Container' with { 'resolution-mode': 'import' };
import type { INamespace } from 'kubernetes-models/v1/Namespace' with { 'resolution-mode': 'import' };
import type { IProbe } from 'kubernetes-models/v1/Probe' with { 'resolution-mode': 'import' };
import type { IService } from 'kubernetes-models/v1/Service' with { 'resolution-mode': 'import' };
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount' with { 'resolution-mode': 'import' };
import { KubeApiServer } from '../../simulator/kubernetes-api';

const ROOT = resolve(__dirname, '../..');
const DIR = join(ROOT, 'deploy/kubernetes');

/**
 * The kinds the manifests may hold, each with the kubernetes-models module whose class validates it. A kind not
 * listed fails the test: add it here once you know how to check it.
 */
const KNOWN_KINDS: Record<string, string> = {
  'v1/Namespace': 'kubernetes-models/v1',
  'v1/ServiceAccount': 'kubernetes-models/v1',
  'v1/ConfigMap': 'kubernetes-models/v1',
  'v1/Service': 'kubernetes-models/v1',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1',
  'rbac.authorization.k8s.io/v1/Role': 'kubernetes-models/rbac.authorization.k8s.io/v1',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'kubernetes-models/rbac.authorization.k8s.io/v1',
};

/**
 * kubernetes-models ships ES modules only, which jest's CommonJS runtime cannot load: a plain Node (22.12+, as the
 * engines field asks) validates each object with its model class and prints what it found.
 */
const VALIDATE = `
const input = JSON.parse(await new Promise((done) => { let text = ''; process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => (text += chunk)).on('end', () => done(text)); }));
const results = [];
for (const { module, object } of input) {
  const Model = (await import(module))[object.kind];
  if (!Model || Model.apiVersion !== object.apiVersion || Model.kind !== object.kind) {
    results.push(module + ' has no model for ' + object.apiVersion + ' ' + object.kind);
    continue;
  }
  try { new Model(object).validate(); results.push(null); } catch (error) { results.push(String(error?.message ?? error)); }
}
process.stdout.write(JSON.stringify(results));
`;

/** Any object of the manifests, before its kind is known. */
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

interface Kinds {
  Deployment: IDeployment;
  Service: IService;
  ConfigMap: IConfigMap;
  Namespace: INamespace;
  ServiceAccount: IServiceAccount;
  PodDisruptionBudget: IPodDisruptionBudget;
  NetworkPolicy: INetworkPolicy;
  Role: IRole;
  RoleBinding: IRoleBinding;
}

interface Manifest {
  file: string;
  object: KubeObject;
}

function readManifests(): { manifests: Manifest[]; kustomization: { resources?: string[]; namespace?: string } } {
  const manifests: Manifest[] = [];
  let kustomization: { resources?: string[]; namespace?: string } | undefined;
  for (const file of readdirSync(DIR)
    .filter((entry) => /\.ya?ml$/.test(entry))
    .sort()) {
    for (const document of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
      const object = document.toJS() as KubeObject | null;
      if (object == null) continue;
      if (object.kind === 'Kustomization') kustomization = object as { resources?: string[]; namespace?: string };
      else manifests.push({ file, object });
    }
  }
  if (!kustomization) throw new Error('deploy/kubernetes has no kustomization.yaml');
  return { manifests, kustomization };
}

const { manifests, kustomization } = readManifests();
const objects = manifests.map(({ object }) => object);
const ofKind = <K extends keyof Kinds>(kind: K): Kinds[K][] =>
  objects.filter((object) => object.kind === kind) as unknown as Kinds[K][];
const name = (object: KubeObject) => `${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;

const deployments = ofKind('Deployment');
const podOf = (deployment: IDeployment) => deployment.spec!.template.spec!;
const podLabels = (deployment: IDeployment) => deployment.spec!.template.metadata!.labels!;
const containersOf = (deployment: IDeployment): IContainer[] => [
  ...(podOf(deployment).initContainers ?? []),
  ...podOf(deployment).containers,
];
const mainContainer = (deployment: IDeployment): IContainer => podOf(deployment).containers[0]!;

/** The Deployment whose container runs this entry point (Dockerfile: dist/workers/<process>.js). */
function deploymentRunning(entry: 'worker' | 'ingress'): IDeployment {
  const found = deployments.filter((deployment) =>
    podOf(deployment).containers.some((container) => (container.command ?? []).includes(`dist/workers/${entry}.js`)),
  );
  if (found.length !== 1)
    throw new Error(`expected one Deployment running dist/workers/${entry}.js, found ${found.length}`);
  return found[0]!;
}
const worker = deploymentRunning('worker');
const ingress = deploymentRunning('ingress');

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** A named or numbered port of the Deployment's main container, as a number. */
const containerPort = (deployment: IDeployment, port: number | string | undefined) =>
  typeof port === 'number'
    ? port
    : (mainContainer(deployment).ports ?? []).find((candidate) => candidate.name === port)?.containerPort;

describe('every object', () => {
  test('is a kind this test knows and valid against the Kubernetes API schema', () => {
    const unknown = objects
      .filter((object) => !KNOWN_KINDS[`${object.apiVersion}/${object.kind}`])
      .map((object) => `${name(object)} (${object.apiVersion})`);
    expect(unknown).toEqual([]);
    const input = objects.map((object) => ({ module: KNOWN_KINDS[`${object.apiVersion}/${object.kind}`], object }));
    const results = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', VALIDATE], {
        cwd: ROOT,
        input: JSON.stringify(input),
        encoding: 'utf8',
      }),
    ) as Array<string | null>;
    expect(results).toHaveLength(objects.length);
    const invalid = results.flatMap((error, index) =>
      error ? [`${manifests[index]!.file}: ${name(objects[index]!)}: ${error}`] : [],
    );
    expect(invalid).toEqual([]);
  });

  test('is applied by kustomization.yaml, which lists every file and sets no namespace over the Roles', () => {
    const files = [...new Set(manifests.map(({ file }) => file))].sort();
    expect([...(kustomization.resources ?? [])].sort()).toEqual(files);
    expect(kustomization.namespace).toBeUndefined();
  });

  test('is unique, and lives in finops-soar unless it is a managed namespace’s Role or RoleBinding', () => {
    const keys = objects.map(name);
    expect(new Set(keys).size).toBe(keys.length);
    const misplaced = objects
      .filter((object) => !['Namespace', 'Role', 'RoleBinding'].includes(object.kind))
      .filter((object) => object.metadata?.namespace !== 'finops-soar')
      .map(name);
    expect(misplaced).toEqual([]);
  });
});

describe('RBAC: exactly the calls the Kubernetes actuator makes', () => {
  /** What the adapter's methods send, as RBAC triples "group resource verb", recorded at a server speaking the API. */
  let used: string[] = [];

  beforeAll(async () => {
    const server = await KubeApiServer.start();
    try {
      const ref = { namespace: 'inference', name: 'vllm-chat' };
      server.addDeployment({ ...ref, replicas: 2, gpusPerReplica: 1 });
      server.addHpa({ ...ref, minReplicas: 2, maxReplicas: 8 });
      server.addCronJob({ ...ref, labels: { deferrable: 'true' } });
      server.addJob({ ...ref, labels: { deferrable: 'true' } });
      const adapter = await createKubernetesAdapter({
        kubeconfig: await server.writeKubeconfig(),
        requestTimeoutMs: 5_000,
      });
      // Every method of the adapter, the batch ones for both kinds; a method added to it fails here until called.
      const calls: Record<keyof KubernetesAdapter, () => Promise<unknown>> = {
        readDeployment: () => adapter.readDeployment(ref),
        annotateDeployment: () => adapter.annotateDeployment(ref, { 'finops-soar.io/test': 'x' }),
        readScale: () => adapter.readScale(ref),
        setScale: () => adapter.setScale(ref, 3),
        readHpa: () => adapter.readHpa(ref),
        patchHpa: () => adapter.patchHpa(ref, { minReplicas: 2, maxReplicas: 10 }),
        listBatch: async () => [
          await adapter.listBatch('cronjobs', ref.namespace, 'deferrable=true'),
          await adapter.listBatch('jobs', ref.namespace, 'deferrable=true'),
        ],
        readBatch: async () => [await adapter.readBatch('cronjobs', ref), await adapter.readBatch('jobs', ref)],
        patchBatch: async () => [
          await adapter.patchBatch('cronjobs', ref, { suspend: true }),
          await adapter.patchBatch('jobs', ref, { suspend: true }),
        ],
      };
      expect(Object.keys(calls).sort()).toEqual(Object.keys(unconfiguredKubernetes('')).sort());
      for (const call of Object.values(calls)) await call();
      const VERBS: Record<string, (named: boolean) => string> = {
        GET: (named) => (named ? 'get' : 'list'),
        PATCH: () => 'patch',
        PUT: () => 'update',
        POST: () => 'create',
        DELETE: () => 'delete',
      };
      const PATH = /^\/apis\/([^/]+)\/[^/]+\/namespaces\/[^/]+\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?$/;
      used = [
        ...new Set(
          server.requests.map(({ method, path }) => {
            const match = PATH.exec(path);
            if (!match) throw new Error(`the actuator called ${method} ${path}, which this test cannot map to RBAC`);
            const [, group, resource, object, subresource] = match;
            return `${group} ${resource}${subresource ? `/${subresource}` : ''} ${VERBS[method]!(object !== undefined)}`;
          }),
        ),
      ].sort();
    } finally {
      await server.close();
    }
  });

  const rulesOf = (role: IRole) =>
    [
      ...new Set(
        (role.rules ?? []).flatMap((rule) => {
          // A resourceName or a nonResourceURL would change what a triple means: none is expected.
          expect(Object.keys(rule).sort()).toEqual(['apiGroups', 'resources', 'verbs']);
          return (rule.apiGroups ?? []).flatMap((group) =>
            (rule.resources ?? []).flatMap((resource) => rule.verbs.map((verb) => `${group} ${resource} ${verb}`)),
          );
        }),
      ),
    ].sort();

  test('the recording: reads and merge patches, a list for batch work, nothing created, replaced or deleted', () => {
    // A check of the recording itself; the Roles are compared with `used` below.
    expect(used).toEqual(
      expect.arrayContaining(['apps deployments/scale patch', 'autoscaling horizontalpodautoscalers patch']),
    );
    expect(used.filter((rule) => / (create|delete|update)$/.test(rule))).toEqual([]);
  });

  test('each managed namespace’s Role grants exactly those, bound to the worker’s service account only', () => {
    const roles = ofKind('Role');
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      expect({ role: name(role), rules: rulesOf(role) }).toEqual({ role: name(role), rules: used });
      const bindings = ofKind('RoleBinding').filter(
        (binding) =>
          binding.metadata?.namespace === role.metadata?.namespace && binding.roleRef.name === role.metadata?.name,
      );
      expect(bindings).toHaveLength(1);
      expect(bindings[0]!.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: role.metadata?.name,
      });
      expect(bindings[0]!.subjects).toEqual([
        { kind: 'ServiceAccount', name: podOf(worker).serviceAccountName, namespace: 'finops-soar' },
      ]);
    }
    expect(ofKind('RoleBinding')).toHaveLength(roles.length);
  });

  test('only the worker gets an API token; the ingress calls no Kubernetes API', () => {
    expect(podOf(worker).automountServiceAccountToken).toBe(true);
    expect(podOf(ingress).automountServiceAccountToken).toBe(false);
    const accounts = ofKind('ServiceAccount').map((account) => account.metadata?.name);
    expect(accounts).toEqual(
      expect.arrayContaining([podOf(worker).serviceAccountName, podOf(ingress).serviceAccountName]),
    );
    expect(podOf(worker).serviceAccountName).not.toBe(podOf(ingress).serviceAccountName);
  });
});

/**
 * A Deployment's configuration as its pod would load it: the ConfigMap and dummy secrets written where the pod
 * mounts them (under a temporary root), its environment pointed there, then the project's loader.
 */
function configOf(deployment: IDeployment): { config: Config; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'finops-soar-manifests-'));
  const at = (path: string) => join(root, path);
  const container = mainContainer(deployment);
  const env = Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable.value ?? '']));
  for (const mount of container.volumeMounts ?? []) {
    const volume = (podOf(deployment).volumes ?? []).find((candidate) => candidate.name === mount.name)!;
    mkdirSync(at(mount.mountPath), { recursive: true });
    if (volume.configMap) {
      const configMap = ofKind('ConfigMap').find((map) => map.metadata?.name === volume.configMap!.name)!;
      for (const [key, text] of Object.entries(configMap.data ?? {}))
        writeFileSync(at(join(mount.mountPath, key)), text);
    }
    if (volume.secret)
      for (const [variable, path] of Object.entries(env))
        if (variable.endsWith('_FILE') && path.startsWith(`${mount.mountPath}/`)) {
          mkdirSync(dirname(at(path)), { recursive: true });
          // Shaped like the real thing where the schema checks a shape.
          const secret = variable.includes('SLACK_TOKEN')
            ? 'xoxb-0000-test-token'
            : variable.includes('OPERATOR_TOKENS')
              ? 'U0ALICE=operator-token-0123456789'
              : 'a-secret-of-at-least-16-characters';
          writeFileSync(at(path), `${secret}\n`);
        }
  }
  const rooted = Object.fromEntries(
    Object.entries(env).map(([variable, value]) => [variable, value.startsWith('/') ? at(value) : value]),
  );
  return { config: loadConfig({ env: rooted }), root };
}

const workerSetup = configOf(worker);
const ingressSetup = configOf(ingress);
afterAll(() => {
  for (const { root } of [workerSetup, ingressSetup]) rmSync(root, { recursive: true, force: true });
});

describe('the ConfigMap', () => {
  test('loads with the project’s config loader for each process, with the secrets each one mounts', () => {
    const { config: forWorker } = workerSetup;
    const { config: forIngress } = ingressSetup;
    // What workers/worker.ts and workers/ingress.ts refuse to start without.
    expect(forWorker.gateway.token).toBeDefined();
    expect(forIngress.ingress.token ?? forIngress.ingress.basicAuth).toBeDefined();
    // A cluster's Temporal, not the embedded dev server; both processes on the same one.
    expect(forWorker.temporal.address).toBeDefined();
    expect(forIngress.temporal).toEqual(forWorker.temporal);
    // The kubelet and Prometheus reach the pod's IP, not its loopback.
    expect(forIngress.ingress.host).toBe('0.0.0.0');
    expect(forWorker.metrics.host).toBe('0.0.0.0');
  });

  test('the ingress loads the shipped playbooks with it (it refuses to start on a step the gateway cannot do)', () => {
    const { config } = ingressSetup;
    expect(loadPlaybooks(join(ROOT, config.playbooks.dir), { gateway: config.gateway.kind }).length).toBeGreaterThan(0);
  });

  test('every approver can be checked (a Slack user, a group in slack.groups, an operator), and no * for S1', () => {
    const { config } = ingressSetup;
    for (const [playbook, bySeverity] of Object.entries(config.approvals.approvers))
      for (const [severity, entries] of Object.entries(bySeverity)) {
        const unchecked = entries.filter(
          (entry) =>
            (entry === '*' && severity === 'S1') ||
            (entry !== '*' &&
              !/^[UWS][A-Z0-9]+$/.test(entry) &&
              !(entry in config.approvals.operatorTokens) &&
              !(config.slack && entry in config.slack.groups)),
        );
        expect({ playbook, severity, unchecked }).toEqual({ playbook, severity, unchecked: [] });
      }
  });
});

describe('each Deployment', () => {
  const processes = [
    ['worker', worker, () => workerSetup.config.metrics.port],
    ['ingress', ingress, () => ingressSetup.config.ingress.port],
  ] as const;

  test.each(processes)('%s: replicas ≥ 2 and a selector matching its pods', (_process, deployment) => {
    expect(deployment.spec!.replicas).toBeGreaterThanOrEqual(2);
    expect(selects(deployment.spec!.selector.matchLabels, podLabels(deployment))).toBe(true);
  });

  test.each(processes)(
    '%s: probes on the port its config serves: /healthz alive (and started), /readyz ready',
    (_process, deployment, port) => {
      const container = mainContainer(deployment);
      const probed = (probe: IProbe | undefined) => ({
        path: probe?.httpGet?.path,
        port: containerPort(deployment, probe?.httpGet?.port),
      });
      expect(probed(container.livenessProbe)).toEqual({ path: '/healthz', port: port() });
      expect(probed(container.readinessProbe)).toEqual({ path: '/readyz', port: port() });
      if (container.startupProbe) expect(probed(container.startupProbe)).toEqual({ path: '/healthz', port: port() });
      // /readyz waits up to 2 s for Temporal (ingress/app.ts READY_TIMEOUT_MS, the worker's notPolling timeout).
      expect(container.readinessProbe?.timeoutSeconds).toBeGreaterThan(2);
    },
  );

  test.each(processes)('%s: Prometheus scrape annotations on /metrics at that port', (_process, deployment, port) => {
    expect(deployment.spec!.template.metadata?.annotations).toEqual(
      expect.objectContaining({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port()),
        'prometheus.io/path': '/metrics',
      }),
    );
  });

  test.each(processes)(
    '%s: CPU and memory requests, and a memory limit, on every container',
    (_process, deployment) => {
      for (const container of containersOf(deployment)) {
        const { requests = {}, limits = {} } = container.resources ?? {};
        expect({
          container: container.name,
          requests: Object.keys(requests).sort(),
          memoryLimit: 'memory' in limits,
        }).toEqual({
          container: container.name,
          requests: ['cpu', 'memory'],
          memoryLimit: true,
        });
      }
    },
  );

  test.each(processes)(
    '%s: non-root, read-only root filesystem, no privilege escalation, no capabilities',
    (_process, deployment) => {
      const pod = podOf(deployment);
      expect(pod.securityContext).toEqual(
        expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }),
      );
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      for (const container of containersOf(deployment))
        expect({ container: container.name, securityContext: container.securityContext }).toEqual({
          container: container.name,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        });
    },
  );

  test.each(processes)(
    '%s: one PodDisruptionBudget selecting its pods, which still lets a node drain',
    (_process, deployment) => {
      const budgets = ofKind('PodDisruptionBudget').filter((budget) =>
        selects(budget.spec?.selector?.matchLabels, podLabels(deployment)),
      );
      expect(budgets).toHaveLength(1);
      expect(budgets[0]!.spec?.minAvailable).toBeLessThan(deployment.spec!.replicas!);
    },
  );

  test.each(processes)(
    '%s: secrets only as files: no secret in env, each *_FILE a variable of the loader, in a mounted Secret',
    (_process, deployment) => {
      const pod = podOf(deployment);
      const secretMounts = (mainContainer(deployment).volumeMounts ?? []).filter(
        (mount) => (pod.volumes ?? []).find((volume) => volume.name === mount.name)?.secret,
      );
      expect(secretMounts.length).toBeGreaterThan(0);
      for (const mount of secretMounts) expect(mount.readOnly).toBe(true);
      const loaderVariables = new Set(ENV_OVERRIDES.map(([variable]) => variable));
      for (const container of containersOf(deployment)) {
        expect(container.envFrom).toBeUndefined();
        for (const { name: variable, value = '', valueFrom } of container.env ?? []) {
          // No secretKeyRef (nor any other reference): a value in env is visible to anything that reads the pod.
          expect({ variable, valueFrom }).toEqual({ variable, valueFrom: undefined });
          if (variable.endsWith('_FILE'))
            expect({
              variable,
              loaderReadsIt: loaderVariables.has(variable.slice(0, -'_FILE'.length)),
              inASecret: secretMounts.some((mount) => value.startsWith(`${mount.mountPath}/`)),
            }).toEqual({ variable, loaderReadsIt: true, inASecret: true });
          else
            expect({ variable, secret: /TOKEN|PASSWORD|SECRET|API_KEY/.test(variable) }).toEqual({
              variable,
              secret: false,
            });
        }
      }
    },
  );
});

describe('Services and NetworkPolicies', () => {
  const portOf = (address: string) => {
    const url = new URL(address.includes('://') ? address : `tcp://${address}`);
    return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  };

  test('a Service selects the ingress pods on the webhook port, and one the worker’s metrics port', () => {
    const serving = (deployment: IDeployment, port: number) =>
      ofKind('Service').filter(
        (service) =>
          selects(service.spec?.selector, podLabels(deployment)) &&
          (service.spec?.ports ?? []).some(
            (candidate) => containerPort(deployment, candidate.targetPort ?? candidate.port) === port,
          ),
      );
    expect(serving(ingress, ingressSetup.config.ingress.port)).toHaveLength(1);
    expect(serving(worker, workerSetup.config.metrics.port)).toHaveLength(1);
  });

  const policyFor = (deployment: IDeployment) => {
    const policies = ofKind('NetworkPolicy').filter((policy) =>
      selects(policy.spec?.podSelector?.matchLabels, podLabels(deployment)),
    );
    expect(policies).toHaveLength(1);
    expect([...(policies[0]!.spec?.policyTypes ?? [])].sort()).toEqual(['Egress', 'Ingress']);
    return policies[0]!.spec!;
  };
  const egressPorts = (policy: NonNullable<INetworkPolicy['spec']>) =>
    new Set((policy.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((port) => port.port)));
  const peersOnPort = (policy: NonNullable<INetworkPolicy['spec']>, port: number) =>
    (policy.ingress ?? [])
      .filter((rule) => (rule.ports ?? []).some((candidate) => candidate.port === port))
      .flatMap((rule) => rule.from ?? []);
  const allowed = (ports: Set<number | string | undefined>, needed: number[]) =>
    needed.filter((port) => !ports.has(port));

  test('the ingress: its port open to Alertmanager and to Slack through the ingress controller; egress to Temporal, Alertmanager, Slack, DNS', () => {
    const policy = policyFor(ingress);
    const { config } = ingressSetup;
    const peers = peersOnPort(policy, config.ingress.port);
    expect(peers.some((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'alertmanager')).toBe(
      true,
    );
    // Slack reaches the ingress through the cluster's ingress controller: a whole namespace.
    expect(peers.some((peer) => peer.namespaceSelector && !peer.podSelector)).toBe(true);
    const needed = [53, portOf(config.temporal.address!), ...(config.ingress.alertmanagerUrl ?? []).map(portOf), 443];
    expect(allowed(egressPorts(policy), needed)).toEqual([]);
  });

  test('the worker: its metrics port open to Prometheus; egress to everything its config names', () => {
    const policy = policyFor(worker);
    const { config } = workerSetup;
    expect(
      peersOnPort(policy, config.metrics.port).some(
        (peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus',
      ),
    ).toBe(true);
    const needed = [
      53, // DNS
      portOf(config.temporal.address!),
      portOf(config.gateway.url),
      portOf(config.prometheus.url),
      ...(config.ingress.alertmanagerUrl ?? []).map(portOf),
      config.policy.opaUrl ? portOf(config.policy.opaUrl) : 8181, // OPA's port, configured or not yet
      443, // the Kubernetes API (in-cluster Service), S3, Slack's Web API
    ];
    expect(allowed(egressPorts(policy), needed)).toEqual([]);
  });
});

describe('the namespace', () => {
  test('enforces the restricted Pod Security profile the pods are written for', () => {
    const [namespace] = ofKind('Namespace');
    expect(namespace?.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});
