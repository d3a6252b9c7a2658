// The engine's configuration: one YAML file plus environment overrides (see config/config-load.ts).
// Every field's description is what an error message shows as the fix.
import { z } from 'zod';
import { approversSchema } from '../approvals/approvers';
import { slackSettingsSchema } from '../notify/slack/slack-settings';
import { alertRulesSchema } from '../alert-rules/alert-rules-schema';
import { durationSchema } from '../validation/duration';
import { DEFAULT_LIMIT_SHARDS } from '../workflows/limits/protocol';
import { GATEWAY_KINDS } from '../gateway/gateway-knobs';
import { capaSettingsSchema } from '../capa/capa-settings';
import { budgetReviewSchema, lifecycleReviewSchema, reviewsSchema } from '../reviews/review-settings';

const port = (what: string) => z.coerce.number().int().min(1).max(65535).describe(`a TCP port (1-65535) for ${what}`);

const temporalSchema = z
  .object({
    address: z
      .string()
      .regex(/^[^:\s]+:\d+$/)
      .optional()
      .describe(
        'host:port of an existing Temporal frontend (e.g. my-ns.abc12.tmprl.cloud:7233); leave unset to run the embedded dev server',
      ),
    uiUrl: z
      .url()
      .optional()
      .describe(
        "the Temporal UI's base URL, for links to runs, e.g. https://temporal.example.com (default: the embedded dev server's UI)",
      ),
    namespace: z.string().min(1).default('default').describe('a Temporal namespace name'),
    taskQueue: z
      .string()
      .min(1)
      .default('finops-soar')
      .describe('the task queue the worker polls and the ingress starts runs on'),
    apiKey: z.string().min(1).optional().describe('a Temporal Cloud API key (set TEMPORAL_API_KEY)'),
    tls: z
      .object({
        clientCertPath: z.string().min(1).optional().describe('path to the PEM client certificate for mTLS'),
        clientKeyPath: z.string().min(1).optional().describe('path to the PEM client private key for mTLS'),
        serverCaCertPath: z
          .string()
          .min(1)
          .optional()
          .describe('path to the PEM CA that signed the server certificate'),
        serverName: z.string().min(1).optional().describe('the server name to verify in the server certificate'),
      })
      .strict()
      .optional(),
    embedded: z
      .object({
        cliPath: z
          .string()
          .min(1)
          .default('temporal')
          .describe('path to the temporal CLI binary (npm start finds or builds it and sets TEMPORAL_CLI_PATH)'),
        host: z.string().min(1).default('127.0.0.1').describe('the address the dev server listens on'),
        port: port('the dev server gRPC frontend').default(7233),
        uiPort: port('the Temporal Web UI').default(8233),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((t) => !(t.tls?.clientCertPath && !t.tls.clientKeyPath) && !(t.tls?.clientKeyPath && !t.tls.clientCertPath), {
    message: 'clientCertPath and clientKeyPath go together: set both for mTLS, or neither',
    path: ['tls'],
  });

// A list in YAML, or comma-separated text from an environment variable.
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter(Boolean)
        : value,
    z.array(item),
  );
const routeList = listOf(z.string().min(1));

const bearerTokenSchema = z
  .string()
  .min(16)
  .describe('a bearer token of at least 16 characters (set FINOPS_SOAR_INGRESS_TOKEN or ingress.tokenFile)');

const perSecond = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/**
 * How long an alert Temporal accepted absorbs its unchanged repeats (ingress/repeat-cache.ts). A minute spans the
 * repeats that cluster (a second HA peer, group_interval's re-sends of an unchanged group) and is far below what a
 * run reads liveness from (engine.staleAlertAfter, hours): the run still hears from each alert once a window.
 */
export const DEFAULT_REPEAT_WINDOW_MS = 60_000;
const MAX_REPEAT_WINDOW_MS = 900_000;

/** Requests a second each kind of ingress endpoint takes (ingress/request-limits.ts counts them). */
export const DEFAULT_RATE_LIMITS = { webhook: 100, runs: 20, slack: 20, probes: 20 } as const;

const slots = (fallback: number, what: string) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .default(fallback)
    .describe(`how many ${what} one worker runs at once, e.g. ${fallback}`);
// A number: at most that many polls open at once; auto: as many as the server's feedback asks for (1 to 100).
const pollers = (fallback: number, what: string) =>
  z
    .union([z.literal('auto'), z.coerce.number().int().min(2)])
    .default(fallback)
    .describe(
      `how many polls for ${what} one worker keeps open: a number (at least 2), or auto to let the server scale them`,
    );

/**
 * The worker's defaults, for 5,000 live runs and a storm of 2,000 runs at once. The 5,000 took 1,286 MiB of worker RSS
 * (1,505 MiB at the peak) on Node 24 once all had made their change (bench/README.md, row 5a): the cache below is a
 * part of it; the rest grows with each run that has acted, 0.3-0.4 MiB a run.
 * - Cache: a run waiting for its resolution needs no cached isolate; an evicted run replays its short history (tens
 *   of events; continue-as-new keeps it bounded) on its next task, in milliseconds. Measured here (2 cores, dev
 *   server, the cap-context playbook): the worker's RSS went from 270 MB to 458 MB with 2,000 runs cached, under
 *   0.1 MB a run (the SDK's generic reference is ~1 MB a run with its activities: a playbook heavier than this one
 *   would call for less). 2,000 keeps a whole 2,000-run storm warm (no replay per task while it lasts) and bounds the
 *   cache near 0.2 GB whatever the number of live runs. The SDK's default
 *   grows with the V8 heap limit instead (600 a GiB above 200 MB: 2,310 with this machine's 4 GiB), whatever memory
 *   the worker's pod is given.
 * - Workflow task slots and pollers: the SDK's (40, 10): workflow tasks are CPU on one thread (reuseV8Context), so
 *   more slots on two cores only queue.
 * - Activity slots: 200, twice the SDK's 100: our activities are HTTP calls that mostly wait (gateway, Kubernetes,
 *   Prometheus, OPA), and a storm's first steps all want one at once; pollers 20 to fill them.
 * - A pre-built bundle (worker.workflowBundle) spares each start webpack's ~5 s (--write-bundle takes 5.3 s here), and
 *   the idle worker's RSS is 199 MB with it, 275 MB without (webpack's memory stays).
 */
export const DEFAULT_WORKER_TUNING = {
  maxCachedWorkflows: 2_000,
  workflowTaskSlots: 40,
  activityTaskSlots: 200,
  localActivitySlots: 100,
  workflowTaskPollers: 10,
  activityTaskPollers: 20,
} as const;

export const configSchema = z
  .object({
    dataDir: z
      .string()
      .min(1)
      .default('.data')
      .describe('a folder for the embedded stack: the Temporal SQLite file and generated dev secrets'),
    temporal: temporalSchema.prefault({}),
    ingress: z
      .object({
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe('the address the webhook server listens on (0.0.0.0 for all interfaces)'),
        port: port('the webhook server').default(8088),
        token: bearerTokenSchema.optional(),
        basicAuth: z
          .object({
            username: z.string().min(1).describe('the basic-auth user Alertmanager sends'),
            password: z
              .string()
              .min(16)
              .describe(
                'a basic-auth password of at least 16 characters (set FINOPS_SOAR_INGRESS_PASSWORD or a passwordFile)',
              ),
          })
          .strict()
          .optional(),
        alertmanagerUrl: listOf(z.url())
          .refine((urls) => urls.length > 0, 'name at least one URL, or leave it unset')
          .optional()
          .describe(
            "Alertmanager's base URL as the ingress reaches it (a list, or comma-separated, for HA peers), to read truncated notifications in full; the only addresses the ingress reads alerts from (a notification's externalURL is never fetched)",
          ),
        maxInFlight: z.coerce
          .number()
          .int()
          .min(1)
          .default(64)
          .describe('how many webhook requests may be in progress at once before answering 503'),
        temporalTimeout: durationSchema
          .default(5_000)
          .describe('how long a webhook waits for Temporal before answering 503, e.g. 5s'),
        repeatWindow: durationSchema
          .default(DEFAULT_REPEAT_WINDOW_MS)
          .refine((ms) => ms <= MAX_REPEAT_WINDOW_MS, 'at most 15m: a run must keep hearing from a firing alert')
          .describe(
            "how long an alert Temporal accepted makes an unchanged repeat of it (Alertmanager's re-sends, HA peers) cost no Temporal call, e.g. 60s; 0s absorbs nothing",
          ),
        rateLimits: z
          .object({
            webhook: perSecond(DEFAULT_RATE_LIMITS.webhook).describe(
              'webhook requests a second, from all Alertmanagers together; beyond it 503 + Retry-After, which Alertmanager retries',
            ),
            runs: perSecond(DEFAULT_RATE_LIMITS.runs).describe(
              'runs API requests a second from one address; beyond it 429 + Retry-After',
            ),
            slack: perSecond(DEFAULT_RATE_LIMITS.slack).describe(
              'Slack clicks and commands a second; beyond it 429 + Retry-After',
            ),
            probes: perSecond(DEFAULT_RATE_LIMITS.probes).describe(
              '/healthz and /readyz requests a second from one address; beyond it 429',
            ),
          })
          .strict()
          .prefault({})
          .describe('how many requests each kind of endpoint takes, counted per ingress replica'),
      })
      .strict()
      .prefault({}),
    gateway: z
      .object({
        kind: z
          .enum(GATEWAY_KINDS)
          .default('control-api')
          .describe(
            "the gateway the engine changes: control-api (the Gateway Control API, the simulator's), litellm (a LiteLLM proxy's admin API) or kong (Kong's Admin API, AI plugins); docs/gateways.md",
          ),
        url: z
          .url()
          .default('http://127.0.0.1:8090')
          .describe(
            "the gateway's admin base URL, e.g. http://gateway-admin:8090, http://litellm:4000 or http://kong:8001",
          ),
        token: z
          .string()
          .min(1)
          .optional()
          .describe(
            "the gateway's admin credential: the Control API bearer token, LiteLLM's master key, or Kong's Admin API token (Kong-Admin-Token) (set FINOPS_SOAR_GATEWAY_TOKEN or gateway.tokenFile)",
          ),
        timeout: durationSchema.default(5_000).describe('the timeout of one gateway request, e.g. 5s'),
        litellm: z
          .object({
            tiers: z
              .record(z.string().min(1), z.string().min(1))
              .default({ premium: '{route}', standard: '{route}-standard', distilled: '{route}-distilled' })
              .describe(
                'the model group that serves each model tier, {route} standing for the route (the model group a team asks for), e.g. {premium: "{route}", distilled: "{route}-distilled"}',
              ),
          })
          .strict()
          .prefault({})
          .describe(
            'how the engine maps its knobs onto LiteLLM (gateway.kind litellm): tenants are teams, routes model groups',
          ),
      })
      .strict()
      .prefault({}),
    kubernetes: z
      .object({
        kubeconfig: z
          .string()
          .min(1)
          .optional()
          .describe(
            "a kubeconfig file for scaling, HPA bounds and batch deferral (unset: the pod's service account when running in a cluster)",
          ),
        context: z.string().min(1).optional().describe('a kubeconfig context other than its current-context'),
        server: z
          .url()
          .optional()
          .describe(
            'an API server URL to use with kubernetes.token instead of a kubeconfig, e.g. http://simulator:8091',
          ),
        token: z
          .string()
          .min(1)
          .optional()
          .describe('the bearer token for kubernetes.server (set FINOPS_SOAR_KUBE_TOKEN or kubernetes.tokenFile)'),
        timeout: durationSchema.default(10_000).describe('the timeout of one Kubernetes API request, e.g. 10s'),
      })
      .strict()
      .prefault({}),
    policy: z
      .object({
        opaUrl: z
          .url()
          .optional()
          .describe(
            'an OPA server to ask before every change, e.g. http://opa:8181 (absent: the built-in rules decide)',
          ),
        opaToken: z
          .string()
          .min(1)
          .optional()
          .describe('a bearer token, for an OPA run with --authentication=token (set FINOPS_SOAR_OPA_TOKEN)'),
        timeout: durationSchema
          .default(2_000)
          .describe('how long to wait for OPA, e.g. 2s; an S1 change it cannot answer for does not run'),
      })
      .strict()
      .prefault({})
      .describe('policies (policy/rego/finops_soar/*.rego): may this change run on this target'),
    metrics: z
      .object({
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe('the address the worker serves its own metrics on (0.0.0.0 for all interfaces)'),
        port: port("the worker's /metrics").default(9464),
      })
      .strict()
      .prefault({})
      .describe("the engine's own Prometheus metrics (savings, budgets), served by the worker on GET /metrics"),
    prometheus: z
      .object({
        url: z
          .url()
          .default('http://127.0.0.1:9090')
          .describe("Prometheus's base URL, for checks that read live metrics, e.g. http://prometheus:9090"),
        token: z
          .string()
          .min(1)
          .optional()
          .describe(
            'a bearer token, when Prometheus sits behind an authenticating proxy (set FINOPS_SOAR_PROMETHEUS_TOKEN)',
          ),
        timeout: durationSchema.default(10_000).describe('the timeout of one query, e.g. 10s'),
      })
      .strict()
      .prefault({}),
    approvals: z
      .object({
        approvers: approversSchema,
        operatorTokens: z
          .preprocess(
            (value) =>
              typeof value === 'string'
                ? Object.fromEntries(
                    value
                      .split(',')
                      .filter(Boolean)
                      .map((pair) => [
                        pair.slice(0, pair.indexOf('=')).trim(),
                        pair.slice(pair.indexOf('=') + 1).trim(),
                      ]),
                  )
                : value,
            z.record(z.string().min(1), z.string().min(16)),
          )
          .default({})
          .describe(
            'who decides over the runs API: each operator id (a Slack user id) with a token of at least 16 characters, sent as X-Operator-Token (FINOPS_SOAR_OPERATOR_TOKENS=U0ALICE=token,…)',
          ),
      })
      .strict()
      .prefault({}),
    slack: slackSettingsSchema
      .optional()
      .describe(
        'Slack for notifications, approvals and war-rooms (absent: they go to the log, and approvals to the CLI and runs API)',
      ),
    alerts: alertRulesSchema
      .prefault({})
      .describe('the thresholds of the alert rules `finops-soar rules` renders (docs/alert-rules.md)'),
    finops: z
      .object({
        budgets: z
          .record(
            z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'budget names are lower-case letters, digits and dashes'),
            z
              .object({
                monthlyUsd: z.number().positive().describe('the budget for a calendar month (UTC), in US dollars'),
                selector: z
                  .string()
                  .regex(/^[^{}]*$/, 'write the label matchers without braces')
                  .default('')
                  .describe(
                    'PromQL label matchers choosing the spend that counts, e.g. tenant="acme" (default: all spend)',
                  ),
                review: budgetReviewSchema.optional(),
              })
              .strict(),
          )
          .default({})
          .describe('named budgets, e.g. {platform: {monthlyUsd: 250000}}; playbooks name the one they check'),
        gpuHourlyUsd: z.coerce
          .number()
          .positive()
          .default(2.5)
          .describe(
            'what one GPU costs per hour, for scale-out estimates and what a capacity run adds (finops.gpuCostRate), e.g. 2.5',
          ),
        headroom: z.coerce
          .number()
          .min(0)
          .max(0.9)
          .default(0.1)
          .describe('the share of every budget kept free, e.g. 0.1 for 10%'),
        watch: z
          .object({
            every: durationSchema.default(900_000).describe('how often to check every budget, e.g. 15m'),
            notify: z
              .array(z.string().min(1))
              .min(1)
              .default(['finops'])
              .describe('who hears when a budget reaches 50, 75, 90 and 100%: notify names, e.g. finops'),
          })
          .strict()
          .prefault({})
          .describe('the budget watch the worker starts when budgets are configured'),
        capa: capaSettingsSchema.prefault({}),
        reviews: reviewsSchema.optional(),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        s3: z
          .object({
            region: z
              .string()
              .min(1)
              .default('us-east-1')
              .describe(
                'the AWS region of the buckets, e.g. eu-west-1 (credentials come from the AWS SDK chain: AWS_ACCESS_KEY_ID…, a profile, or the pod role)',
              ),
            endpoint: z.url().optional().describe('an S3-compatible endpoint instead of AWS, e.g. http://minio:9000'),
            forcePathStyle: z
              .union([z.boolean(), z.stringbool()])
              .default(false)
              .describe('true: address buckets as <endpoint>/<bucket> (most S3-compatible servers need it)'),
          })
          .strict()
          .prefault({}),
        review: lifecycleReviewSchema.optional(),
      })
      .strict()
      .prefault({}),
    simulator: z
      .object({
        host: z.string().min(1).default('127.0.0.1').describe('the address the bundled simulator listens on'),
        port: port("the simulator's gateway Control API, chat completions and /metrics").default(8090),
        kubernetesPort: port("the simulator's Kubernetes API (its GPU deployments, HPAs and batch jobs)").default(8091),
        s3Port: port("the simulator's S3 lifecycle API (its buckets)").default(8092),
        seed: z.coerce
          .number()
          .int()
          .min(0)
          .default(1)
          .describe("the load model's random seed: the same seed gives the same traffic"),
      })
      .strict()
      .prefault({}),
    playbooks: z
      .object({ dir: z.string().min(1).default('playbooks').describe('the folder holding the playbook YAML files') })
      .strict()
      .prefault({}),
    engine: z
      .object({
        cooldown: durationSchema
          .default(300_000)
          .describe(
            'how long an alert must stay resolved before its changes are rolled back, e.g. 5m (a playbook may set its own)',
          ),
        staleAlertAfter: durationSchema
          .default(15_300_000)
          .describe(
            "how long a run waits without a notification before asking Alertmanager whether its alert is still active: Alertmanager's repeat_interval (default 4h) plus a margin, e.g. 4h15m",
          ),
        dryRun: z
          .union([z.boolean(), z.stringbool()])
          .default(false)
          .describe('true: every run records what it would change and changes nothing'),
        protectedRoutes: routeList
          .default(['core', 'risk', 'fraud'])
          .describe(
            'routes never throttled, tiered or circuit-broken, as a list or comma-separated, e.g. core,risk,fraud',
          ),
        sensitiveRoutes: routeList
          .default([])
          .describe('routes whose circuit breaker fails closed, as a list or comma-separated'),
        protectedTenants: routeList
          .default([])
          .describe(
            "tenants whose quota no playbook changes (a quota covers all of a tenant's routes), as a list or comma-separated, e.g. internal",
          ),
        maxConcurrentRuns: z.coerce
          .number()
          .int()
          .min(1)
          .default(50)
          .describe(
            'how many playbook runs may be active at once; a run beyond it waits its turn, visibly, and is admitted when a slot frees',
          ),
        maxActionsPerTargetPerHour: z.coerce
          .number()
          .int()
          .min(1)
          .default(20)
          .describe(
            'how many changes one target may receive in an hour, across runs; a step beyond it is refused and recorded',
          ),
        flapMemory: z
          .object({
            within: durationSchema
              .default(7_200_000)
              .describe(
                'a target whose alert fires again this soon after its last rollback flapped: its next run holds its changes longer, e.g. 2h (0: no memory)',
              ),
            factor: z.coerce
              .number()
              .min(1)
              .default(2)
              .describe('each flap in a row multiplies the cooldown and the stabilisation windows by this, e.g. 2'),
            maxFactor: z.coerce
              .number()
              .min(1)
              .default(8)
              .describe('the most they are multiplied by, however many flaps, e.g. 8'),
          })
          .strict()
          .prefault({})
          .describe("how long the limits' shards remember a target's rollback, and how much longer its next run holds"),
        limitShards: z.coerce
          .number()
          .int()
          .min(1)
          .max(64)
          .default(DEFAULT_LIMIT_SHARDS)
          .describe(
            'how many workflows hold the limits (docs/scale.md): each takes its share of the slots and of the targets; 4 measured best on 2 cores',
          ),
      })
      .strict()
      .prefault({}),
    worker: z
      .object({
        maxCachedWorkflows: z.coerce
          .number()
          .int()
          .min(0)
          .default(DEFAULT_WORKER_TUNING.maxCachedWorkflows)
          .describe(
            "how many runs one worker keeps in memory between their tasks, e.g. 2000 (0: none; an uncached run replays its history on its next task); 0.1 to 1 MB each, so size it to the worker's memory, not to the number of live runs",
          ),
        workflowTaskSlots: slots(DEFAULT_WORKER_TUNING.workflowTaskSlots, 'workflow tasks'),
        activityTaskSlots: slots(
          DEFAULT_WORKER_TUNING.activityTaskSlots,
          'activities (gateway, Kubernetes, Prometheus calls)',
        ),
        localActivitySlots: slots(DEFAULT_WORKER_TUNING.localActivitySlots, 'local activities'),
        workflowTaskPollers: pollers(DEFAULT_WORKER_TUNING.workflowTaskPollers, 'workflow tasks'),
        activityTaskPollers: pollers(DEFAULT_WORKER_TUNING.activityTaskPollers, 'activities'),
        workflowBundle: z
          .string()
          .min(1)
          .optional()
          .describe(
            'a workflow bundle built beforehand (node dist/workers/worker.js --write-bundle FILE, with the same @temporalio/worker), so that a worker starts without bundling (unset: bundled once at start)',
          ),
      })
      .strict()
      .prefault({})
      .refine((w) => w.maxCachedWorkflows === 0 || w.workflowTaskSlots >= 2, {
        message: 'with a workflow cache, at least 2 workflow task slots (a Temporal SDK rule)',
        path: ['workflowTaskSlots'],
      })
      .refine((w) => w.workflowTaskPollers === 'auto' || w.workflowTaskPollers <= w.workflowTaskSlots, {
        message: 'no more workflow task pollers than workflow task slots (a Temporal SDK rule)',
        path: ['workflowTaskPollers'],
      })
      .refine((w) => w.activityTaskPollers === 'auto' || w.activityTaskPollers <= w.activityTaskSlots, {
        message: 'no more activity pollers than activity slots (a Temporal SDK rule)',
        path: ['activityTaskPollers'],
      })
      .describe("the Temporal worker's cache, slots, pollers and workflow bundle"),
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
          .default('info')
          .describe('one of fatal, error, warn, info, debug, trace'),
        format: z
          .enum(['auto', 'json', 'pretty'])
          .default('auto')
          .describe('json (one object a line, for collectors), pretty (a readable line) or auto: pretty in a terminal'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
