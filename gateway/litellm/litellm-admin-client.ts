// The LiteLLM proxy's admin API, the calls a LiteLLM gateway adapter is built on, spoken with axios. Each request
// builder names the LiteLLM source it follows (BerriAI/litellm, read through the project's search tools; the shapes
// are stable across the versions read). Only the fields the engine reads or writes are typed; the proxy answers more.
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import { GatewayError } from '../adapter';
import { withWireRetries, type WireRetries } from '../wire-retries';

export interface LiteLlmAdminOptions extends WireRetries {
  baseUrl: string;
  /** The proxy's master key (or an admin key): sent as `Authorization: Bearer <key>`. */
  masterKey: string;
  timeoutMs: number;
}

/** A team as `team_info` / `data` hold it (litellm/proxy/_types.py, LiteLLM_TeamTable). */
export interface LiteLlmTeam {
  team_id: string;
  team_alias?: string | null;
  models: string[];
  tpm_limit: number | null;
  rpm_limit: number | null;
  max_budget: number | null;
  budget_duration: string | null;
  blocked: boolean;
  metadata: Record<string, unknown>;
}

/**
 * The team fields the engine changes (UpdateTeamRequest). An explicit null clears max_budget, budget_duration,
 * rpm_limit and tpm_limit only; metadata is replaced whole (send all of it), and model_aliases, a map kept in a table
 * of its own, is replaced whole too ({} clears it, null changes nothing): team_endpoints.py, update_team.
 */
export type LiteLlmTeamUpdate = Partial<
  Pick<LiteLlmTeam, 'tpm_limit' | 'rpm_limit' | 'max_budget' | 'budget_duration' | 'metadata'>
> & { model_aliases?: Record<string, string> };

/** What /team/update answers in `data`: the team row, with its alias table included (update_team's `include`). */
export type LiteLlmUpdatedTeam = LiteLlmTeam & {
  /** Request model name → the model group that serves it, e.g. {"chat": "chat-distilled"}. */
  litellm_model_table?: { model_aliases?: Record<string, string> | null } | null;
};

/** One deployment of a model group, as GET /model/info lists it. */
export interface LiteLlmDeployment {
  model_name: string;
  litellm_params: Record<string, unknown> & { model?: string; weight?: number; rpm?: number; tpm?: number };
  model_info: Record<string, unknown> & { id: string; db_model?: boolean; max_input_tokens?: number | null };
}

export interface LiteLlmFallback {
  model: string;
  fallback_models: string[];
  fallback_type: 'general' | 'context_window' | 'content_policy';
}

// Statuses where the same request can succeed later; LiteLLM answers 503 without its database.
const RETRYABLE_STATUSES = new Set([408, 409, 425, 429]);

/**
 * LiteLLM answers errors in more than one shape (issue 16 research): ProxyException `{"error": {"message", "type",
 * "param", "code"}}` (litellm/proxy/proxy_server.py, openai_exception_handler), FastAPI's `{"detail": ...}` from the
 * endpoints that raise HTTPException unconverted (/team/update, /fallback), and 422 `{"detail": [pydantic errors]}`.
 * The HTTP status is the truth; `code` is a string and the message may be a Python dict's repr.
 */
export function liteLlmErrorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return typeof body === 'string' && body ? body : undefined;
  const { error, detail } = body as { error?: { message?: unknown }; detail?: unknown };
  if (error && typeof error.message === 'string') return error.message;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail))
    return detail
      .map((issue: { loc?: unknown[]; msg?: string }) => `${(issue.loc ?? []).join('.')}: ${issue.msg ?? '?'}`)
      .join('; ');
  if (detail && typeof detail === 'object') {
    const inner = (detail as { error?: unknown }).error;
    return typeof inner === 'string' ? inner : JSON.stringify(detail);
  }
  return undefined;
}

function toGatewayError(error: unknown, what: string): GatewayError {
  if (!isAxiosError(error)) return new GatewayError(`LiteLLM ${what} failed: ${String(error)}`, true);
  const status = error.response?.status;
  if (status === undefined)
    return new GatewayError(
      `LiteLLM ${what} failed: ${error.code ?? error.message} (proxy unreachable or too slow)`,
      true,
    );
  const detail = liteLlmErrorMessage(error.response?.data) ?? error.message;
  return new GatewayError(
    `LiteLLM ${what} answered ${status}: ${detail}`,
    status >= 500 || RETRYABLE_STATUSES.has(status),
    status,
  );
}

export class LiteLlmAdminClient {
  private readonly http: AxiosInstance;
  private readonly retries: WireRetries;
  private readonly timeoutMs: number;

  constructor({ baseUrl, masterKey, timeoutMs, ...retries }: LiteLlmAdminOptions) {
    this.retries = retries;
    this.timeoutMs = timeoutMs;
    this.http = axios.create({
      baseURL: baseUrl.replace(/\/+$/, ''),
      timeout: timeoutMs,
      // axios sets Content-Type: application/json on the requests that carry a body, and only on those.
      headers: { Authorization: `Bearer ${masterKey}` },
    });
  }

  /**
   * One call, tried again on a retryable failure (wire-retries.ts). Every request here is safe to repeat: reads, and
   * writes that set whole values (never increments).
   */
  private call<T>(what: string, request: () => Promise<{ data: T }>): Promise<T> {
    return withWireRetries(
      this.retries,
      this.timeoutMs,
      async () => (await request()).data,
      (error) => toGatewayError(error, what),
    );
  }

  /**
   * GET /team/info?team_id= → {team_id, team_info, keys, team_memberships}
   * (litellm/proxy/management_endpoints/team_endpoints.py, team_info).
   */
  async teamInfo(teamId: string): Promise<LiteLlmTeam> {
    const body = await this.call<{ team_info: LiteLlmTeam }>(`GET /team/info for team ${teamId}`, () =>
      this.http.get('/team/info', { params: { team_id: teamId } }),
    );
    return body.team_info;
  }

  /**
   * POST /team/update {team_id, ...fields} → {team_id, data: <team row>}; omitted fields stay, null clears
   * (team_endpoints.py, update_team: `data.json(exclude_unset=True)`). Unknown fields are dropped silently, so only
   * declared ones are sent.
   */
  async updateTeam(teamId: string, update: LiteLlmTeamUpdate): Promise<LiteLlmUpdatedTeam> {
    const body = await this.call<{ data: LiteLlmUpdatedTeam }>(`POST /team/update for team ${teamId}`, () =>
      this.http.post('/team/update', { team_id: teamId, ...update }),
    );
    return body.data;
  }

  /**
   * The team's model aliases. /team/info does not answer them (team_info loads the team without its
   * litellm_model_table), but /team/update does, so they are read with an update that names no field and so changes
   * nothing (update_team writes only the fields sent: `exclude_unset=True`).
   */
  async teamModelAliases(teamId: string): Promise<Record<string, string>> {
    const team = await this.updateTeam(teamId, {});
    return { ...team.litellm_model_table?.model_aliases };
  }

  /**
   * GET /model/info → {data: [{model_name, litellm_params, model_info: {id, db_model, ...}}]}
   * (litellm/proxy/proxy_server.py, model_info_v1); one entry per deployment.
   */
  async deployments(): Promise<LiteLlmDeployment[]> {
    const body = await this.call<{ data: LiteLlmDeployment[] }>('GET /model/info', () => this.http.get('/model/info'));
    return body.data;
  }

  /** The deployments of one model group (the route), by `model_name`. */
  async deploymentsOf(modelGroup: string): Promise<LiteLlmDeployment[]> {
    return (await this.deployments()).filter(({ model_name }) => model_name === modelGroup);
  }

  /**
   * PATCH /model/{id}/update {litellm_params?, model_info?}: merges into the stored deployment and reloads the router
   * (litellm/proxy/management_endpoints/model_management_endpoints.py, patch_model). Only models stored in the
   * database (model_info.db_model) can change; a config-file model answers 400.
   */
  async patchDeployment(
    modelId: string,
    patch: { litellm_params?: Record<string, unknown>; model_info?: Record<string, unknown> },
  ): Promise<void> {
    await this.call(`PATCH /model/${modelId}/update`, () =>
      this.http.patch(`/model/${encodeURIComponent(modelId)}/update`, patch),
    );
  }

  /**
   * GET /fallback/{model} → {model, fallback_models, fallback_type}; null when none is configured (404)
   * (litellm/proxy/management_endpoints/fallback_management_endpoints.py, get_fallback).
   */
  async fallback(model: string): Promise<LiteLlmFallback | null> {
    try {
      return (await this.http.get<LiteLlmFallback>(`/fallback/${encodeURIComponent(model)}`)).data;
    } catch (error) {
      // 404 {"detail": {"error": "No general fallbacks configured for model 'x'"}} (get_fallback); any other 404
      // (an old proxy without the route) is an error.
      const response = isAxiosError(error) ? error.response : undefined;
      if (response?.status === 404 && /^No \w+ fallbacks configured/.test(liteLlmErrorMessage(response.data) ?? ''))
        return null;
      throw toGatewayError(error, `GET /fallback/${model}`);
    }
  }

  /** POST /fallback {model, fallback_models, fallback_type: general}: creates or replaces (create_fallback). */
  async setFallback(model: string, fallbackModels: string[]): Promise<void> {
    await this.call(`POST /fallback for ${model}`, () =>
      this.http.post('/fallback', { model, fallback_models: fallbackModels, fallback_type: 'general' }),
    );
  }

  /** DELETE /fallback/{model} (delete_fallback). */
  async deleteFallback(model: string): Promise<void> {
    await this.call(`DELETE /fallback/${model}`, () => this.http.delete(`/fallback/${encodeURIComponent(model)}`));
  }
}
