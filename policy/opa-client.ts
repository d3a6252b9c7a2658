// OPA's Data API (https://www.openpolicyagent.org/docs/rest-api#data-api): POST /v1/data/{path}
// with {"input": …} answers {"result": …, "decision_id": …}. OPA gives a decision id only when
// decision logging is on (e.g. `--set decision_logs.console=true`), and leaves out `result` when
// nothing is defined at the path (the policy is not loaded).
import axios, { isAxiosError, type AxiosInstance } from 'axios';

export interface OpaClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8181. */
  url: string;
  /** Sent as `Authorization: Bearer`, for an OPA run with --authentication=token. */
  token?: string | undefined;
  timeoutMs: number;
}

export interface OpaAnswer {
  result: unknown;
  /** Present when OPA logs decisions: the id to find this decision in its log. */
  decisionId?: string;
}

/** OPA could not answer; `retryable` says whether asking again can help. */
export class OpaError extends Error {
  override name = 'OpaError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export class OpaClient {
  private readonly http: AxiosInstance;
  readonly url: string;

  constructor({ url, token, timeoutMs }: OpaClientOptions) {
    this.url = url.replace(/\/$/, '');
    this.http = axios.create({
      baseURL: this.url,
      timeout: timeoutMs,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
  }

  /** The document at data.<path> (slashes between the parts, e.g. finops_soar/action/decision) for `input`. */
  async evaluate(path: string, input: unknown): Promise<OpaAnswer> {
    let body: { result?: unknown; decision_id?: string };
    try {
      body = (await this.http.post<{ result?: unknown; decision_id?: string }>(`/v1/data/${path}`, { input })).data;
    } catch (error) {
      throw toOpaError(error, this.url, path);
    }
    if (!('result' in body)) {
      throw new OpaError(
        `OPA at ${this.url} has no decision at data.${path.replaceAll('/', '.')}: load the policies (opa run --server policy/rego/) or fix policy.opaUrl`,
        false,
      );
    }
    return { result: body.result, ...(body.decision_id !== undefined && { decisionId: body.decision_id }) };
  }
}

function toOpaError(error: unknown, url: string, path: string): OpaError {
  if (!isAxiosError(error)) return new OpaError(`asking OPA at ${url} for data.${path} failed: ${String(error)}`, true);
  const status = error.response?.status;
  if (status === undefined) {
    const timedOut = error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT';
    const what = timedOut
      ? `did not answer within ${error.config?.timeout} ms`
      : `could not be reached (${error.code ?? error.message})`;
    return new OpaError(`OPA at ${url} ${what}; check policy.opaUrl and that OPA is up`, true);
  }
  const body = error.response?.data as { code?: string; message?: string } | undefined;
  const detail = body?.message ? `${body.code}: ${body.message}` : error.message;
  if (status === 401 || status === 403)
    return new OpaError(`OPA at ${url} answered ${status} (${detail}): check policy.opaToken`, false);
  if (status >= 500 || status === 429)
    return new OpaError(`OPA at ${url} answered ${status} for data.${path}: ${detail}`, true);
  return new OpaError(
    `OPA at ${url} refused the question for data.${path} (${status} ${detail}); fix the input or the policy`,
    false,
  );
}
