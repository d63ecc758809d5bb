import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Actor } from '../access/actor.js';
import type { TokenService } from '../access/token-service.js';
import { MalformedBodyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AccessLog } from './access-log.js';
import type { CorsHeaders } from './cors.js';
import { withActor } from './auth.js';
import { registerJsonSource } from './body.js';
import { FLAG_ROUTES, type flagsEndpoint } from './flags-router.js';
import { OFREP_ROUTES, withOfrepFields, type OfrepEndpoints, type RefetchQuery } from './ofrep-router.js';
import { explainError, writeProblem } from './problem.js';
import { writeReply } from './reply.js';
import { applyAccess, paramIndex, pathMatcher, type RouteDecl } from './route.js';

/** What the read path serves; express serves the same endpoints for every request it passes on. */
export interface ReadEndpoints {
  tokens: TokenService;
  flags: ReturnType<typeof flagsEndpoint>;
  ofrep: OfrepEndpoints;
  accessLog: AccessLog;
  /** Where refused and failed requests are logged (the express problem handler's logger). */
  errors: Logger;
  /** express.json's limit, in bytes. */
  bodyLimit: number;
  /** The CORS headers the express app sets on these routes (the same function), if any. */
  cors?: CorsHeaders | undefined;
}

/** How many requests the read path answered itself, and how many it passed to express. */
export interface ReadPathStats {
  served: number;
  passed: number;
}

/** A declared route as the read path matches it: its path's matcher and where its parameters are captured. */
interface Matched {
  decl: RouteDecl;
  re: RegExp;
  service: number;
}
const matched = (decl: RouteDecl): Matched => ({ decl, re: pathMatcher(decl.path), service: paramIndex(decl.path, 'service') });
const FLAGS = matched(FLAG_ROUTES.flags);
const OFREP_BULK = matched(OFREP_ROUTES.bulk);
const OFREP_SINGLE = matched(OFREP_ROUTES.single);
const OFREP_KEY = paramIndex(OFREP_ROUTES.single.path, 'key');
if (FLAGS.decl.method !== 'get' || OFREP_BULK.decl.method !== 'post' || OFREP_SINGLE.decl.method !== 'post') throw new Error('read path: the declared methods changed');
/** What express.json would read as UTF-8 JSON: `application/json`, with no charset or a UTF-8 one. */
const JSON_TYPE = /^application\/json[ \t]*(?:;[ \t]*charset=(?:utf-8|"utf-8")[ \t]*)?$/i;
const DIGITS = /^\d+$/;
const noop = () => undefined;

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * body-parser's strict JSON reading, for the bodies the read path accepts: the UTF-8 text without
 * its byte-order mark; empty is `{}`; anything that does not start with `{` or `[` is malformed.
 */
function parseBody(bytes: Buffer): unknown {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  const first = text[0] === '{' || text[0] === '[' ? text[0] : /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d]|$)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw new MalformedBodyError('The request body is not valid JSON');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MalformedBodyError('The request body is not valid JSON');
  }
  // The OFREP endpoints judge the body with assertPlainJson, as they do express.json's.
  registerJsonSource(value, text);
  return value;
}

/**
 * The read path: the requests services make all day (`GET /v1/services/{s}/flags` and the two
 * OFREP evaluations) answered straight from node:http, in front of express. The express app costs
 * about three times what the evaluation does (see ADR 0004); this path keeps everything else: the
 * same token check, the same endpoint functions, the same problem+json and OFREP error fields, the
 * same access-log line and metrics.
 *
 * It takes only the plain form of each request, and only before reading any of it: the exact path
 * (case, no trailing slash, decodable segments), a JSON body of known length within the limit,
 * no content encoding, no `Idempotency-Key`. Everything else, including every unusual form of these
 * routes, goes to express untouched, which answers it as it always did. test/http/read-path.test.ts
 * holds the two to the same answers.
 */
export function readPath(read: ReadEndpoints, app: RequestListener, stats: ReadPathStats = { served: 0, passed: 0 }): RequestListener {
  const pass = (req: IncomingMessage, res: ServerResponse) => {
    stats.passed++;
    app(req, res);
  };
  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (req.method === 'GET') {
      const m = FLAGS.re.exec(path);
      const service = m ? decoded(m[FLAGS.service]!) : undefined;
      if (service === undefined) return pass(req, res);
      stats.served++;
      const id = read.accessLog(req, res, false);
      read.cors?.(req, res, noop);
      withActor(
        read.tokens,
        req.headers.authorization,
        (actor) => {
          applyAccess(FLAGS.decl.access, actor, service);
          writeReply(res, read.flags(service, req.headers['if-none-match']), id);
        },
        (err: unknown) => fail(read, req, res, id, path, err, false, undefined),
      );
      return;
    }
    if (req.method !== 'POST') return pass(req, res);
    let route = OFREP_BULK;
    let m = OFREP_BULK.re.exec(path);
    if (!m) {
      route = OFREP_SINGLE;
      m = OFREP_SINGLE.re.exec(path);
      if (!m) return pass(req, res);
    }
    const service = decoded(m[route.service]!);
    const key = route === OFREP_BULK ? null : decoded(m[OFREP_KEY]!);
    if (service === undefined || key === undefined) return pass(req, res);
    const h = req.headers;
    const length = h['content-length'];
    if (
      h['idempotency-key'] !== undefined ||
      h['transfer-encoding'] !== undefined ||
      (h['content-encoding'] !== undefined && h['content-encoding'].toLowerCase() !== 'identity') ||
      length === undefined ||
      !DIGITS.test(length) ||
      Number(length) > read.bodyLimit ||
      !JSON_TYPE.test(h['content-type'] ?? '')
    ) {
      return pass(req, res);
    }
    stats.served++;
    const id = read.accessLog(req, res, false);
    read.cors?.(req, res, noop);
    // A client that goes away mid-body is owed nothing; the access log records the close.
    req.on('error', () => undefined);
    const evaluate = (actor: Actor) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const body = parseBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
          const readBody = () => body;
          applyAccess(route.decl.access, actor, service);
          const reply = key === null ? read.ofrep.bulk(actor, service, readBody, h['if-none-match'], refetchQuery(url, q)) : read.ofrep.single(service, key, readBody);
          writeReply(res, reply, id);
        } catch (err) {
          fail(read, req, res, id, path, err, true, key ?? undefined);
        }
      });
    };
    // The token first (after the read barrier, ADR 0012); the body is read only for a known caller.
    withActor(read.tokens, h.authorization, evaluate, (err: unknown) => fail(read, req, res, id, path, err, true, key ?? undefined));
  };
}

/**
 * The OFREP re-fetch metadata of the query, as express's `simple` query parser reads it (a name
 * given twice is an array, which the endpoint refuses); `undefined` without a query.
 */
function refetchQuery(url: string, q: number): RefetchQuery | undefined {
  if (q === -1) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  const one = (name: string): unknown => {
    const all = params.getAll(name);
    return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
  };
  return { flagConfigEtag: one('flagConfigEtag'), flagConfigLastModified: one('flagConfigLastModified') };
}

/** The problem handler's answer, with the OFREP failure fields on the OFREP routes. */
function fail(read: ReadEndpoints, req: IncomingMessage, res: ServerResponse, id: string, path: string, err: unknown, ofrep: boolean, key: string | undefined): void {
  const error = explainError(read.errors, ofrep ? withOfrepFields(err, key) : err, path, id);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.setHeader('X-Request-Id', id);
  writeProblem(res, error, req.url ?? path);
}
