// A local server that speaks Kong's Admin API for routes, consumers and plugins as Kong's own source defines it (Kong/kong;
// each route names the file it follows; /work/notes/kong-api.md has the research), for testing the Kong adapter through
// its real HTTP code. It keeps routes, consumers and plugins in memory, records every request, injects faults, and
// answers errors in Kong's shapes: `{code, name, message, fields}` from the DAO (400 schema violation, 409 unique
// constraint violation), `{"message": "Not found"}` from the routes, `{"message": "An unexpected error occurred"}` on 500.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { KongConsumer, KongPlugin, KongRoute } from '../../gateway/kong/kong-admin-client';

export const KONG_ADMIN_TOKEN = 'kong-admin-test-token';

export interface RecordedRequest {
  method: string;
  url: string;
  token: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/** A plugin to seed: its route and consumer by name, as a test thinks of them. */
export interface PluginSeed {
  name: string;
  route?: string;
  consumer?: string;
  config?: Record<string, unknown>;
  enabled?: boolean;
  tags?: string[];
}

export interface KongSeed {
  routes?: string[];
  consumers?: string[];
  plugins?: PluginSeed[];
}

const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'];

/**
 * Config defaults of the plugins the engine touches, as their schemas declare them (kong/plugins/<name>/schema.lua for
 * the OSS ones; the Enterprise ones as their reference pages list them). The server fills them in on create, as Kong does.
 */
const DEFAULTS: Record<string, Record<string, unknown>> = {
  'rate-limiting': {
    ...Object.fromEntries(PERIODS.map((period) => [period, null])),
    limit_by: 'consumer',
    header_name: null,
    path: null,
    policy: 'local',
    fault_tolerant: true,
    hide_client_headers: false,
    error_code: 429,
    error_message: 'API rate limit exceeded',
    sync_rate: -1,
  },
  'request-termination': {
    status_code: 503,
    message: null,
    content_type: null,
    body: null,
    echo: false,
    trigger: null,
  },
  'ai-semantic-cache': {},
  'ai-prompt-compressor': {},
  'ai-rate-limiting-advanced': { tokens_count_strategy: 'total_tokens', window_type: 'sliding', strategy: 'local' },
  'ai-proxy-advanced': { balancer: { algorithm: 'round-robin' } },
};

/** An error as kong/db/errors.lua builds it and kong/api/endpoints.lua answers it. */
const daoError = (reply: FastifyReply, status: number, code: number, name: string, message: string, fields: unknown) =>
  reply.code(status).send({ code, name, message, fields });
const notFound = (reply: FastifyReply) => reply.code(404).send({ message: 'Not found' });

/** kong/db/schema/typedefs.lua, validate_tag: printable ASCII except `,` and `/`, or UTF-8. */
const validTag = (tag: unknown) =>
  typeof tag === 'string' &&
  tag.length > 0 &&
  [...tag].every((char) => char >= ' ' && char !== '\x7f' && char !== ',' && char !== '/');

/** Schema:merge_values (kong/db/schema/init.lua): records merged field by field, everything else (arrays) replaced. */
function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [field, value] of Object.entries(patch)) {
    const old = out[field];
    const record = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    out[field] =
      record(value) && record(old) ? merge(old as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return out;
}

export class KongAdminServer {
  readonly requests: RecordedRequest[] = [];
  readonly routes: KongRoute[] = [];
  readonly consumers: KongConsumer[] = [];
  readonly plugins: KongPlugin[] = [];
  /** Page size of the plugin collections (Kong's default is 100). */
  pageSize = 100;
  /**
   * Runs once, after the next read of plugins (a collection or one) is answered: someone else's change between the
   * engine's read and its write.
   */
  afterNextPluginRead: (() => void) | undefined;
  /**
   * Runs once, when the next plugin create arrives, before Kong checks it against the plugins there: someone else
   * making the same plugin first (the DAO's cache_key 409).
   */
  beforeNextCreate: (() => void) | undefined;
  private faults: Array<{ match: (request: RecordedRequest) => boolean; status: number; lose: boolean }> = [];
  private failures: number[] = [];
  private hangs = 0;
  private readonly hanging: FastifyReply[] = [];
  private clock = 1_700_000_000;

  url = '';

  private constructor(private readonly app: FastifyInstance) {}

  static async start(seed: KongSeed = {}): Promise<KongAdminServer> {
    const server = new KongAdminServer(Fastify());
    server.serve();
    server.seed(seed);
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    server.url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
    return server;
  }

  /** Replaces everything the server holds with `seed`, and forgets the requests. */
  seed({ routes = [], consumers = [], plugins = [] }: KongSeed): void {
    this.requests.length = 0;
    this.routes.length = 0;
    this.consumers.length = 0;
    this.plugins.length = 0;
    for (const name of routes) this.routes.push({ id: randomUUID(), name, service: { id: randomUUID() }, tags: null });
    for (const username of consumers) this.consumers.push({ id: randomUUID(), username, custom_id: null, tags: null });
    for (const plugin of plugins) this.addPlugin(plugin);
  }

  addPlugin({ name, route, consumer, config = {}, enabled = true, tags }: PluginSeed): KongPlugin {
    const routeId = route === undefined ? null : this.findRoute(route)!.id;
    const consumerId = consumer === undefined ? null : this.findConsumer(consumer)!.id;
    const plugin: KongPlugin = {
      id: randomUUID(),
      name,
      route: routeId ? { id: routeId } : null,
      service: null,
      consumer: consumerId ? { id: consumerId } : null,
      config: merge(DEFAULTS[name] ?? {}, structuredClone(config)),
      enabled,
      tags: tags ?? null,
      created_at: this.clock,
      updated_at: this.clock,
    };
    this.plugins.push(plugin);
    return plugin;
  }

  /** The plugin of `name` on a route (by name) and consumer (by username), as a test looks it up. */
  pluginOf(name: string, { route, consumer }: { route?: string; consumer?: string }): KongPlugin | undefined {
    const routeId = route === undefined ? null : this.findRoute(route)?.id;
    const consumerId = consumer === undefined ? null : this.findConsumer(consumer)?.id;
    return this.plugins.find(
      (plugin) =>
        plugin.name === name && (plugin.route?.id ?? null) === routeId && (plugin.consumer?.id ?? null) === consumerId,
    );
  }

  private findRoute = (key: string) => this.routes.find(({ id, name }) => id === key || name === key);
  private findConsumer = (key: string) => this.consumers.find(({ id, username }) => id === key || username === key);

  private serve(): void {
    const { app } = this;
    app.addHook('onRequest', (request, reply, done) => {
      // Kong Enterprise RBAC (admin API with enforce_rbac): the token travels in the Kong-Admin-Token header.
      if (request.headers['kong-admin-token'] !== KONG_ADMIN_TOKEN) {
        void reply.code(401).send({ message: 'Invalid credentials. Token or User credentials required' });
        return;
      }
      if (this.hangs > 0) {
        this.hangs -= 1;
        this.hanging.push(reply);
        return;
      }
      const status = this.failures.shift();
      if (status !== undefined) {
        // kong/api/endpoints.lua, handle_error → yield_error: a database error is a bare 500.
        void reply.code(status).send({ message: 'An unexpected error occurred' });
        return;
      }
      done();
    });
    const faultFor = (recorded: RecordedRequest, lose: boolean) => {
      const index = this.faults.findIndex((fault) => fault.lose === lose && fault.match(recorded));
      return index < 0 ? undefined : this.faults.splice(index, 1)[0];
    };
    app.addHook('preHandler', (request, reply, done) => {
      const recorded = {
        method: request.method,
        url: request.url,
        token: request.headers['kong-admin-token'] as string | undefined,
        contentType: request.headers['content-type'],
        body: request.body ?? null,
      };
      this.requests.push(recorded);
      const refuse = faultFor(recorded, false);
      if (refuse) {
        void reply.code(refuse.status).send({ message: 'An unexpected error occurred' });
        return;
      }
      done();
    });
    // The change is made and its answer lost (a proxy in front timing out): the caller sees a 5xx.
    app.addHook('onSend', (request, reply, payload, done) => {
      const recorded = [...this.requests]
        .reverse()
        .find(({ method, url }) => method === request.method && url === request.url);
      const lose = recorded && reply.statusCode < 400 ? faultFor(recorded, true) : undefined;
      if (!lose) return done(null, payload);
      reply.code(lose.status);
      done(null, JSON.stringify({ message: 'An invalid response was received from the upstream server' }));
    });

    // kong/api/endpoints.lua, get_entity_endpoint: by id or endpoint key (route name, consumer username).
    app.get<{ Params: { route: string } }>(
      '/routes/:route',
      (request, reply) => this.findRoute(request.params.route) ?? notFound(reply),
    );
    app.get<{ Params: { consumer: string } }>(
      '/consumers/:consumer',
      (request, reply) => this.findConsumer(request.params.consumer) ?? notFound(reply),
    );
    app.get<{ Params: { id: string } }>('/plugins/:id', (request, reply) => {
      const plugin = this.plugins.find(({ id }) => id === request.params.id);
      if (!plugin) return notFound(reply);
      const answer = structuredClone(plugin);
      this.afterRead();
      return answer;
    });

    // endpoints.lua, get_collection_endpoint for a foreign key: {data, offset, next}, `next` a path or null.
    const page = (reply: FastifyReply, base: string, all: KongPlugin[], offset: string | undefined) => {
      const start = offset === undefined ? 0 : Number(offset);
      const data = all.slice(start, start + this.pageSize).map((plugin) => structuredClone(plugin));
      const more = start + this.pageSize < all.length;
      this.afterRead();
      return reply.send({
        data,
        offset: more ? String(start + this.pageSize) : null,
        next: more ? `${base}?offset=${start + this.pageSize}` : null,
      });
    };
    app.get<{ Params: { route: string }; Querystring: { offset?: string } }>(
      '/routes/:route/plugins',
      (request, reply) => {
        const route = this.findRoute(request.params.route);
        if (!route) return notFound(reply);
        const all = this.plugins.filter((plugin) => plugin.route?.id === route.id);
        return page(reply, `/routes/${request.params.route}/plugins`, all, request.query.offset);
      },
    );
    app.get<{ Params: { consumer: string }; Querystring: { offset?: string } }>(
      '/consumers/:consumer/plugins',
      (request, reply) => {
        const consumer = this.findConsumer(request.params.consumer);
        if (!consumer) return notFound(reply);
        const all = this.plugins.filter((plugin) => plugin.consumer?.id === consumer.id);
        return page(reply, `/consumers/${request.params.consumer}/plugins`, all, request.query.offset);
      },
    );

    // kong/api/routes/plugins.lua, post_plugin on /routes/:routes/plugins and /consumers/:consumers/plugins: the path's
    // entity is the plugin's foreign key; the DAO validates (400 schema violation) and enforces the cache_key (409).
    const create = (reply: FastifyReply, body: Record<string, unknown>, on: { route?: string; consumer?: string }) => {
      const before = this.beforeNextCreate;
      this.beforeNextCreate = undefined;
      before?.();
      const name = body.name as string;
      const consumerId = on.consumer ?? (body.consumer as { id?: string } | undefined)?.id ?? null;
      const plugin: KongPlugin = {
        id: randomUUID(),
        name,
        route: on.route ? { id: on.route } : null,
        service: null,
        consumer: consumerId ? { id: consumerId } : null,
        config: merge(DEFAULTS[name] ?? {}, (body.config as Record<string, unknown> | undefined) ?? {}),
        enabled: (body.enabled as boolean | undefined) ?? true,
        tags: (body.tags as string[] | undefined) ?? null,
        created_at: this.tick(),
        updated_at: this.clock,
      };
      if (this.invalid(reply, plugin)) return reply;
      const clash = this.plugins.find(
        (other) =>
          other.name === name &&
          (other.route?.id ?? null) === (plugin.route?.id ?? null) &&
          (other.consumer?.id ?? null) === consumerId &&
          other.service === null,
      );
      if (clash) {
        const key = { consumer: plugin.consumer, name, route: plugin.route, service: null };
        return daoError(
          reply,
          409,
          5,
          'unique constraint violation',
          `UNIQUE violation detected on '${JSON.stringify(key)}'`,
          key,
        );
      }
      this.plugins.push(plugin);
      return reply.code(201).send(plugin);
    };
    app.post<{ Params: { route: string }; Body: Record<string, unknown> }>(
      '/routes/:route/plugins',
      (request, reply) => {
        const route = this.findRoute(request.params.route);
        if (!route) return notFound(reply);
        return create(reply, request.body ?? {}, { route: route.id });
      },
    );
    app.post<{ Params: { consumer: string }; Body: Record<string, unknown> }>(
      '/consumers/:consumer/plugins',
      (request, reply) => {
        const consumer = this.findConsumer(request.params.consumer);
        if (!consumer) return notFound(reply);
        return create(reply, request.body ?? {}, { consumer: consumer.id });
      },
    );

    // plugins.lua, patch_plugin → endpoints.lua update: merge_values, validate, write; 404 when the plugin is gone.
    app.patch<{ Params: { id: string }; Body: Record<string, unknown> }>('/plugins/:id', (request, reply) => {
      const index = this.plugins.findIndex(({ id }) => id === request.params.id);
      if (index < 0) return notFound(reply);
      const body = request.body ?? {};
      const updated = merge(this.plugins[index]! as unknown as Record<string, unknown>, body) as unknown as KongPlugin;
      updated.updated_at = this.tick();
      if (this.invalid(reply, updated)) return reply;
      this.plugins[index] = updated;
      return updated;
    });

    // endpoints.lua, delete_entity_endpoint: 204 whether or not it existed.
    app.delete<{ Params: { id: string } }>('/plugins/:id', (request, reply) => {
      const index = this.plugins.findIndex(({ id }) => id === request.params.id);
      if (index >= 0) this.plugins.splice(index, 1);
      return reply.code(204).send();
    });
  }

  private afterRead(): void {
    const after = this.afterNextPluginRead;
    this.afterNextPluginRead = undefined;
    after?.();
  }

  private tick(): number {
    this.clock += 1;
    return this.clock;
  }

  /** The checks of kong/db/schema (typedefs.tags, the plugin subschemas) the engine can meet; answers 400 when one fails. */
  private invalid(reply: FastifyReply, plugin: KongPlugin): boolean {
    const fields: Record<string, unknown> = {};
    if (!(plugin.name in DEFAULTS))
      fields.name = `plugin '${plugin.name}' not enabled; add it to the 'plugins' configuration property`;
    const badTags = (plugin.tags ?? []).filter((tag) => !validTag(tag));
    if (badTags.length > 0)
      fields.tags = badTags.map(
        (tag) => `invalid tag '${tag}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`,
      );
    if (plugin.name === 'rate-limiting') {
      const set = PERIODS.filter((period) => typeof plugin.config[period] === 'number');
      if (set.length === 0)
        fields['@entity'] = [
          `at least one of these fields must be non-empty: ${PERIODS.map((period) => `'config.${period}'`).join(', ')}`,
        ];
      for (const period of PERIODS) {
        const value = plugin.config[period];
        if (value !== null && value !== undefined && (typeof value !== 'number' || value <= 0))
          fields.config = {
            ...(fields.config as object),
            [period]: typeof value === 'number' ? 'value must be greater than 0' : 'expected a number',
          };
      }
    }
    if (Object.keys(fields).length === 0) return false;
    const summary = Object.entries(fields)
      .map(([field, error]) => `${field}: ${typeof error === 'string' ? error : JSON.stringify(error)}`)
      .join(', ');
    void daoError(reply, 400, 2, 'schema violation', `schema violation (${summary})`, fields);
    return true;
  }

  /** The next request `match` accepts answers `status` without running (lose: false), or runs and answers it (lose: true). */
  faultOn(match: (request: RecordedRequest) => boolean, status: number, { lose }: { lose: boolean }): void {
    this.faults.push({ match, status, lose });
  }

  /** The next requests answer these statuses (as an unhandled error does), before any route runs. */
  failNext(...statuses: number[]): void {
    this.failures.push(...statuses);
  }

  /** The next `count` requests are never answered (until close): the client's timeout is what ends them. */
  hangNext(count = 1): void {
    this.hangs += count;
  }

  async close(): Promise<void> {
    for (const reply of this.hanging.splice(0)) reply.raw.destroy();
    await this.app.close();
  }
}
