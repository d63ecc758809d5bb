// @ts-check
/** The /v1 API with the signed-in token: JSON in, JSON out, problem+json turned into ApiError. */
import { signOut } from './nav.js';
import { session } from './session.js';

/** @typedef {import('../types.js').ConsoleProblem} ConsoleProblem */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {ConsoleProblem | null} problem
   */
  constructor(status, problem) {
    super(problemText(problem, status));
    this.status = status;
    this.problem = problem;
    this.code = problem?.code ?? null;
  }
}

/**
 * The human text of a problem+json answer: its detail, the bad fields, and its code.
 * @param {ConsoleProblem | null} problem
 * @param {number} status
 */
function problemText(problem, status) {
  if (!problem || typeof problem !== 'object') return `The server answered ${status}`;
  let text = problem.detail || ('title' in problem && problem.title) || `The server answered ${status}`;
  if ('errors' in problem && Array.isArray(problem.errors) && problem.errors.length > 0) {
    text += ': ' + problem.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  }
  if (problem.code) text += ` (${problem.code})`;
  return text;
}

/**
 * One call. Its answer is `any` until named: the helpers below name theirs, other callers assign
 * it to a variable with a JSDoc type from ../types.d.ts.
 * @param {string} method
 * @param {string} path
 * `headers` are sent as well (If-Match); `signal` aborts the call; `meta.etag` receives the answer's ETag.
 * @param {{ body?: unknown, bytes?: ArrayBuffer, token?: string | null, headers?: Record<string, string>, signal?: AbortSignal, meta?: { etag?: string | null } }} [options]
 * @returns {Promise<any>}
 */
export async function api(method, path, { body, bytes, token = session.token, headers: extra = {}, signal, meta } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json, application/problem+json', ...extra };
  if (token) headers['Authorization'] = `Bearer ${token}`;
  /** @type {BodyInit | undefined} */
  let payload;
  if (bytes !== undefined) {
    payload = bytes;
    headers['Content-Type'] = 'application/gzip';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload ?? null, cache: 'no-store', signal: signal ?? null });
  } catch (err) {
    throw new ApiError(0, { detail: `The server could not be reached (${err instanceof Error ? err.message : String(err)})` });
  }
  if (meta) meta.etag = res.headers.get('ETag');
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = new ApiError(res.status, data ?? { detail: text || res.statusText });
    // The token was revoked (or the server forgot it) while the page was open: sign in again.
    if (res.status === 401 && token === session.token && session.token) signOut(error.message);
    throw error;
  }
  return data;
}

export const enc = encodeURIComponent;

/** @param {string} key @returns {Promise<import('../types.js').IntentDetail>} */
export const getIntent = (key) => api('GET', `/v1/intents/${enc(key)}`);

/** @param {string} key @param {string | null} [cursor] @returns {Promise<import('../types.js').AuditPage>} */
export function loadAudit(key, cursor) {
  const q = new URLSearchParams({ experiment: key, limit: '500' });
  if (cursor) q.set('cursor', cursor);
  return api('GET', `/v1/audit?${q}`);
}

/** @param {string} service @returns {Promise<import('../types.js').FlagsDocument>} */
export const getFlags = (service) => api('GET', `/v1/services/${enc(service)}/flags`);

/** @typedef {{ service: string, doc?: import('../types.js').FlagsDocument, error?: unknown }} FlagsEntry */

/**
 * Each service's flags, a failure kept beside its service rather than failing them all.
 * @param {string[]} services
 * @returns {Promise<FlagsEntry[]>}
 */
export function flagsOf(services) {
  return Promise.all(
    services.map((service) =>
      getFlags(service).then(
        (doc) => ({ service, doc }),
        (error) => ({ service, error }),
      ),
    ),
  );
}

/** @param {string} id @returns {Promise<import('../types.js').DecisionRecord>} */
export const getDecision = (id) => api('GET', `/v1/decisions/${enc(id)}`);

/**
 * The live (active) version of an intent: its intent and decision. GET /v1/intents/{key} carries
 * the current version's; when another version is live (a v2 waits for approval or was denied, or
 * was rolled back to v1), the live one is read from its decision (GET /v1/decisions/{id}), whose
 * input is that version's intent as judged. Null when nothing is live.
 * @param {import('../types.js').IntentDetail} exp
 * @returns {Promise<{ version: number, intent: import('../types.js').IntentSpec, decision: import('../types.js').Decision | null } | null>}
 */
export async function liveVersion(exp) {
  const active = exp.active_version;
  if (active === null) return null;
  if (active === exp.version) return { version: active, intent: exp.intent, decision: exp.decision };
  const id = exp.versions.find((v) => v.version === active)?.decision_id;
  if (!id) return null;
  const d = await getDecision(id);
  return {
    version: active,
    intent: /** @type {import('../types.js').DecisionInput} */ (d.input).intent,
    decision: { id: d.id, policy_revision: d.policy_revision, allow: d.allow, violations: d.violations, obligations: d.obligations ?? { approvals: [], audit: { level: '—', retention_days: 0 } }, limits: d.limits },
  };
}
