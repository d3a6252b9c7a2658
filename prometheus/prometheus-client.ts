// Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/): instant and
// range queries, with errors that say whether asking again can help and what to fix.
import axios, { isAxiosError, type AxiosInstance } from 'axios';

export interface PrometheusClientOptions {
  baseUrl: string;
  /** Sent to Prometheus as the query timeout too, so a slow query is cut off on both sides. */
  timeoutMs: number;
  /** Bearer token, when Prometheus sits behind an authenticating proxy. */
  token?: string | undefined;
}

export interface Sample {
  labels: Record<string, string>;
  /** Seconds since the epoch. */
  time: number;
  value: number;
}

export interface Series {
  labels: Record<string, string>;
  points: Array<{ time: number; value: number }>;
}

/** A failed query; `retryable` says whether the same query can succeed later. */
export class PrometheusError extends Error {
  override name = 'PrometheusError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

type ApiValue = [number, string];
type ApiResponse =
  | {
      status: 'success';
      data: { resultType: 'vector'; result: Array<{ metric: Record<string, string>; value: ApiValue }> };
    }
  | { status: 'success'; data: { resultType: 'scalar'; result: ApiValue } }
  | {
      status: 'success';
      data: { resultType: 'matrix'; result: Array<{ metric: Record<string, string>; values: ApiValue[] }> };
    }
  | { status: 'success'; data: { resultType: 'string'; result: [number, string] } }
  | { status: 'error'; errorType: string; error: string };

// Prometheus writes NaN and ±Inf as strings; Number() reads them all.
const point = ([time, value]: ApiValue) => ({ time, value: Number(value) });

export class PrometheusClient {
  private readonly http: AxiosInstance;
  private readonly baseUrl: string;

  constructor({ baseUrl, timeoutMs, token }: PrometheusClientOptions) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.http = axios.create({
      baseURL: this.baseUrl,
      timeout: timeoutMs,
      params: { timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s` },
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  }

  /** The query's value at `time` (default: now), one sample per series; a scalar is one sample without labels. */
  async query(promql: string, time?: Date): Promise<Sample[]> {
    const data = await this.call(
      '/api/v1/query',
      { query: promql, ...(time ? { time: time.getTime() / 1000 } : {}) },
      promql,
    );
    if (data.resultType === 'vector')
      return data.result.map(({ metric, value }) => ({ labels: metric, ...point(value) }));
    if (data.resultType === 'scalar') return [{ labels: {}, ...point(data.result) }];
    throw new PrometheusError(
      `query ${promql} gave a ${data.resultType}, not a number per series; use an instant vector or scalar expression`,
      false,
    );
  }

  /** The query evaluated every `stepSeconds` from `start` to `end`. */
  async queryRange(promql: string, start: Date, end: Date, stepSeconds: number): Promise<Series[]> {
    const data = await this.call(
      '/api/v1/query_range',
      { query: promql, start: start.getTime() / 1000, end: end.getTime() / 1000, step: stepSeconds },
      promql,
    );
    if (data.resultType !== 'matrix')
      throw new PrometheusError(`range query ${promql} gave a ${data.resultType}`, false);
    return data.result.map(({ metric, values }) => ({ labels: metric, points: values.map(point) }));
  }

  private async call(path: string, params: Record<string, string | number>, promql: string) {
    let body: ApiResponse;
    try {
      // POST with a form body: long queries would overflow a URL.
      body = (
        await this.http.post<ApiResponse>(
          path,
          new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])),
        )
      ).data;
    } catch (error) {
      throw toPrometheusError(error, this.baseUrl, promql);
    }
    if (body.status !== 'success')
      throw new PrometheusError(`Prometheus refused ${promql}: ${body.errorType}: ${body.error}`, false);
    return body.data;
  }
}

function toPrometheusError(error: unknown, baseUrl: string, promql: string): PrometheusError {
  if (!isAxiosError(error)) return new PrometheusError(`query ${promql} failed: ${String(error)}`, true);
  const status = error.response?.status;
  if (status === undefined) {
    return new PrometheusError(
      `Prometheus at ${baseUrl} did not answer (${error.code ?? error.message}); check prometheus.url and that Prometheus is up`,
      true,
    );
  }
  const body = error.response?.data as { errorType?: string; error?: string } | undefined;
  const detail = body?.error ? `${body.errorType}: ${body.error}` : error.message;
  // 400 bad_data: the query is wrong; 422 execution: it cannot be evaluated as written; 503: timeout or overload.
  if (status === 400 || status === 422)
    return new PrometheusError(`Prometheus refused ${promql}: ${detail}; fix the query`, false);
  if (status === 401 || status === 403)
    return new PrometheusError(`Prometheus at ${baseUrl} answered ${status}: check prometheus.token`, false);
  return new PrometheusError(
    `Prometheus at ${baseUrl} answered ${status} to ${promql}: ${detail}`,
    status >= 500 || status === 429,
  );
}
