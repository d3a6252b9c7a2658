// Kong's Admin API, the calls the Kong gateway adapter is built on, spoken with axios. Each request builder names the
// Kong source or page it follows (Kong/kong, read through the project's search tools; /work/notes/kong-api.md has the
// research). Only the fields the engine reads or writes are typed; Kong answers more.
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import { GatewayError } from '../adapter';
import { withWireRetries, type WireRetries } from '../wire-retries';

export interface KongAdminOptions extends WireRetries {
  baseUrl: string;
  /** The Admin API's RBAC token (Kong Enterprise), sent as `Kong-Admin-Token`; empty for an open Admin API. */
  adminToken: string;
  timeoutMs: number;
}

/** A foreign key as Kong answers it: `{"id": ...}` or null (kong/db/schema/entities/plugins.lua). */
export type KongRef = { id: string } | null;

/** A plugin instance (kong/db/schema/entities/plugins.lua). */
export interface KongPlugin {
  id: string;
  name: string;
  route: KongRef;
  service: KongRef;
  consumer: KongRef;
  /** Enterprise only; absent on Kong OSS. */
  consumer_group?: KongRef;
  config: Record<string, unknown>;
  enabled: boolean;
  tags: string[] | null;
  created_at?: number;
  updated_at?: number;
}

export interface KongRoute {
  id: string;
  name: string | null;
  service: KongRef;
  tags: string[] | null;
}

export interface KongConsumer {
  id: string;
  username: string | null;
  custom_id: string | null;
  tags: string[] | null;
}

/** What a new plugin is made of; Kong fills the rest from the plugin's schema defaults. */
export interface KongPluginCreate {
  name: string;
  consumer?: { id: string };
  config: Record<string, unknown>;
  tags: string[];
}

/** The fields of a plugin the engine changes: PATCH merges config's sub-fields and replaces arrays and tags whole. */
export type KongPluginPatch = Partial<Pick<KongPlugin, 'config' | 'enabled' | 'tags'>>;

/**
 * Kong's error bodies (kong/db/errors.lua, new_err_t; kong/api/endpoints.lua, handle_error): `{code, name, message,
 * fields}` from the DAO (2 schema violation → 400 with `fields`, 5 unique constraint violation → 409, 6 not found →
 * 404), `{"message": "Not found"}` from the routes, `{"message": "An unexpected error occurred"}` on a 500.
 */
export function kongErrorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return typeof body === 'string' && body ? body : undefined;
  const { message, name, fields } = body as { message?: unknown; name?: unknown; fields?: unknown };
  if (typeof name !== 'string') return typeof message === 'string' ? message : undefined;
  // A DAO error: its message starts with its name for schema violations ("schema violation (config.second: ...)").
  if (typeof message === 'string') return message.startsWith(name) ? message : `${name}: ${message}`;
  return fields && typeof fields === 'object' ? `${name} ${JSON.stringify(fields)}` : name;
}

/**
 * A 409 is a unique constraint violation: on a create, another writer made the same plugin (name, route, consumer)
 * first, so reading again and retrying can help. 408/429 and 5xx are the gateway's momentary trouble.
 */
const RETRYABLE_STATUSES = new Set([408, 409, 425, 429]);

export function toKongError(error: unknown, what: string): GatewayError {
  if (!isAxiosError(error)) return new GatewayError(`Kong ${what} failed: ${String(error)}`, true);
  const status = error.response?.status;
  if (status === undefined)
    return new GatewayError(
      `Kong ${what} failed: ${error.code ?? error.message} (Admin API unreachable or too slow)`,
      true,
    );
  const detail = kongErrorMessage(error.response?.data) ?? error.message;
  return new GatewayError(
    `Kong ${what} answered ${status}: ${detail}`,
    status >= 500 || RETRYABLE_STATUSES.has(status),
    status,
  );
}

/**
 * Path segments from labels, escaped; `.` and `..` pass encodeURIComponent unchanged and the URL parser would resolve
 * them (GET /consumers/.. is GET /), so a label that is one names no Kong entity.
 */
const path = (...parts: string[]) =>
  parts
    .map((part) => {
      if (part === '.' || part === '..')
        throw new GatewayError(
          `"${part}" names no Kong entity (a route or consumer name cannot be a dot segment)`,
          false,
        );
      return encodeURIComponent(part);
    })
    .join('/');

export class KongAdminClient {
  private readonly http: AxiosInstance;
  private readonly retries: WireRetries;
  private readonly timeoutMs: number;

  constructor({ baseUrl, adminToken, timeoutMs, ...retries }: KongAdminOptions) {
    this.retries = retries;
    this.timeoutMs = timeoutMs;
    this.http = axios.create({
      baseURL: baseUrl.replace(/\/+$/, ''),
      timeout: timeoutMs,
      // Kong Enterprise RBAC reads the token from the Kong-Admin-Token header (admin_gui/rbac docs); axios sets
      // Content-Type: application/json on the requests that carry a body.
      headers: adminToken ? { 'Kong-Admin-Token': adminToken } : {},
    });
  }

  /** One call, tried again on a retryable failure (wire-retries.ts); used only for requests safe to repeat. */
  private call<T>(what: string, request: () => Promise<{ data: T }>): Promise<T> {
    return withWireRetries(
      this.retries,
      this.timeoutMs,
      async () => (await request()).data,
      (error) => toKongError(error, what),
    );
  }

  /** A GET that answers null on 404 (`{"message": "Not found"}`, kong/api/endpoints.lua, not_found). */
  private async find<T>(what: string, url: string): Promise<T | null> {
    try {
      return await this.call<T>(what, () => this.http.get(url));
    } catch (error) {
      if (error instanceof GatewayError && error.status === 404) return null;
      throw error;
    }
  }

  /** GET /routes/{name or id} (kong/api/endpoints.lua, get_entity_endpoint; routes' endpoint_key is name). */
  route(nameOrId: string): Promise<KongRoute | null> {
    return this.find(`GET /routes/${nameOrId}`, `/routes/${path(nameOrId)}`);
  }

  /** GET /consumers/{username or id} (get_entity_endpoint; consumers' endpoint_key is username). */
  consumer(usernameOrId: string): Promise<KongConsumer | null> {
    return this.find(`GET /consumers/${usernameOrId}`, `/consumers/${path(usernameOrId)}`);
  }

  /** GET /plugins/{id}; null when gone. */
  plugin(id: string): Promise<KongPlugin | null> {
    return this.find(`GET /plugins/${id}`, `/plugins/${path(id)}`);
  }

  /**
   * Every page of a collection: `{data, offset, next}` with `next` a path or null (kong/api/endpoints.lua,
   * get_collection_endpoint; page size 100).
   */
  private async pages<T>(what: string, first: string): Promise<T[]> {
    const all: T[] = [];
    let url: string | null = first;
    while (url) {
      const page: { data: T[]; next: string | null } = await this.call(what, () => this.http.get(url!));
      all.push(...page.data);
      url = page.next;
    }
    return all;
  }

  /** GET /routes/{route}/plugins: every plugin whose route is this one, with or without a consumer. */
  routePlugins(routeId: string): Promise<KongPlugin[]> {
    return this.pages(`GET /routes/${routeId}/plugins`, `/routes/${path(routeId)}/plugins`);
  }

  /** GET /consumers/{consumer}/plugins: every plugin whose consumer is this one. */
  consumerPlugins(consumerId: string): Promise<KongPlugin[]> {
    return this.pages(`GET /consumers/${consumerId}/plugins`, `/consumers/${path(consumerId)}/plugins`);
  }

  /**
   * POST /routes/{route}/plugins, or POST /consumers/{consumer}/plugins for a consumer's plugin on every route
   * (kong/api/routes/plugins.lua, post_plugin: the path's entity becomes the plugin's foreign key). Not retried here: a
   * create whose answer was lost would make a second plugin, or meet a 409; the caller reads again first.
   */
  async createPlugin(on: { route: string } | { consumer: string }, plugin: KongPluginCreate): Promise<KongPlugin> {
    const url = 'route' in on ? `/routes/${path(on.route)}/plugins` : `/consumers/${path(on.consumer)}/plugins`;
    try {
      return (await this.http.post<KongPlugin>(url, plugin)).data;
    } catch (error) {
      throw toKongError(error, `POST ${url} (${plugin.name})`);
    }
  }

  /** PATCH /plugins/{id} (patch_plugin): config merged field by field, arrays and tags replaced whole; 404 when gone. */
  patchPlugin(id: string, patch: KongPluginPatch): Promise<KongPlugin> {
    return this.call(`PATCH /plugins/${id}`, () => this.http.patch(`/plugins/${path(id)}`, patch));
  }

  /** DELETE /plugins/{id}: 204 whether or not it existed (endpoints.lua, delete_entity_endpoint), so safe to repeat. */
  async deletePlugin(id: string): Promise<void> {
    await this.call(`DELETE /plugins/${id}`, () => this.http.delete(`/plugins/${path(id)}`));
  }
}
