import type { Problem } from '../http/api-schemas.js';
import { CliError, ExitCode, exitCodeForStatus } from './exit-codes.js';

/** An RFC 9457 problem document as the server declares it (src/http/api-schemas.ts `Problem`, docs/errors.md). */
export type { Problem };

/** A non-2xx answer. `problem` is set when the body was problem+json (or at least JSON with a code). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly bodyText: string,
    readonly method: string,
    readonly url: string,
  ) {
    super(problem?.code ? `${problem.code}: ${problem.detail ?? ''}` : `HTTP ${status} from ${method} ${url}`);
    this.name = 'ApiError';
  }

  get exitCode(): ExitCode {
    return exitCodeForStatus(this.status);
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** A JSON body. */
  json?: unknown;
  /** Raw bytes, sent with `contentType`. */
  body?: Uint8Array;
  contentType?: string;
  /** Extra request headers (`If-Match`). */
  headers?: Record<string, string>;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

const TIMEOUT_MS = 60_000;

/** A thin client for the Switchyard HTTP API: bearer auth, JSON in and out, problem+json errors. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly userAgent = 'switchyard-cli',
  ) {}

  urlFor(path: string, query?: RequestOptions['query']): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u.toString();
  }

  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
    const url = this.urlFor(path, opts.query);
    const headers: Record<string, string> = { ...opts.headers, accept: 'application/json, application/problem+json', 'user-agent': this.userAgent };
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let body: string | Uint8Array | undefined;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.body !== undefined) {
      body = opts.body;
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
    } catch (err) {
      throw new CliError(ExitCode.apiError, `cannot reach ${this.baseUrl} (${method} ${path}): ${describeFetchError(err)}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new CliError(ExitCode.apiError, `the answer to ${method} ${path} was cut short: ${describeFetchError(err)}`);
    }
    return { status: res.status, headers: res.headers, text };
  }

  /** A 2xx answer with its parsed JSON body (undefined when empty); throws ApiError otherwise. */
  async fetchJson<T>(method: string, path: string, opts: RequestOptions = {}): Promise<{ status: number; headers: Headers; body: T }> {
    const res = await this.raw(method, path, opts);
    if (res.status < 200 || res.status >= 300) throw new ApiError(res.status, parseProblem(res.text), res.text, method, path);
    if (res.text === '') return { status: res.status, headers: res.headers, body: undefined as T };
    try {
      return { status: res.status, headers: res.headers, body: JSON.parse(res.text) as T };
    } catch {
      throw new CliError(ExitCode.apiError, `${method} ${path} answered ${res.status} with a body that is not JSON`);
    }
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.fetchJson<T>(method, path, opts)).body;
  }

  get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, query ? { query } : {});
  }
}

function parseProblem(text: string): Problem | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Problem).code === 'string' ? (v as Problem) : undefined;
  } catch {
    return undefined;
  }
}

function describeFetchError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** `/v1/intents/{key}` with the key percent-encoded. */
export function pathOf(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
}
