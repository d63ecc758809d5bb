/**
 * One declaration per route (docs/adr/0011-route-declarations.md): method, path, who may call it,
 * request schemas, response schemas per status and the error codes it may answer. `route()` wires
 * it into express (the access rule runs as middleware, the query is parsed with the declared
 * schema), `openapi.ts` assembles the document from the same objects, and the handler's answer is
 * typed by the declared response schema: a field the schema lacks fails `tsc`.
 */
import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import { requireRole, requireServiceAccess, type Actor, type Role } from '../access/actor.js';
import type { ErrorCode } from '../errors.js';
import { actorOf } from './auth.js';
import { param, parseWith } from './body.js';
import { sendReply, type JsonText } from './reply.js';

type Json = Record<string, unknown>;

/**
 * Who may call a route, as data. `roles`: `route()` refuses every other role with 403 `forbidden`
 * before the handler runs (admin passes, as everywhere). `domain`: the domain applies the rule
 * (team, service, approval role), so the declaration only documents it. `note` adds what the roles
 * alone do not say.
 */
export type Access =
  | { kind: 'public' }
  | { kind: 'token'; note?: string }
  | { kind: 'roles'; roles: readonly Role[]; what: string; qualify?: Partial<Record<Role, string>>; note?: string }
  | { kind: 'domain'; roles: readonly Role[]; qualify?: Partial<Record<Role, string>>; note?: string }
  /**
   * A service's reads: every human role, and a `service` token only for the service its path
   * parameter `param` names (403 `forbidden_service`). `route()` and the read path apply it with
   * `applyAccess`. `ticket`: the route also takes a stream ticket instead of the header, so the
   * handler resolves the caller and applies the rule itself.
   */
  | { kind: 'service'; param: string; ticket?: boolean };

/**
 * Applies a declared access rule that the declaration alone decides (`roles`, `service`) to an
 * authenticated caller; `service` is the decoded value of a `service` rule's path parameter. The
 * other kinds pass: the domain or the handler applies them.
 */
export function applyAccess(access: Access, actor: Actor, service: string | undefined): void {
  if (access.kind === 'roles') requireRole(actor, access.roles, access.what);
  else if (access.kind === 'service' && !access.ticket) requireServiceAccess(actor, service!);
}

/** The index of a path parameter among a `pathMatcher` match's captures (1-based, as in the match). */
export function paramIndex(path: string, name: string): number {
  const names = [...openApiPath(path).matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const i = names.indexOf(name);
  if (i === -1) throw new Error(`${path} has no parameter ${name}`);
  return i + 1;
}

export interface ResponseDecl {
  description: string;
  /** A JSON body: its component name and schema (output side). */
  body?: { name: string; schema: z.ZodType };
  /** Defaults to application/json when a body is given. */
  contentType?: string;
  /** A zod schema of a body that is not a JSON component (text, an event stream, HTML), inlined. */
  text?: z.ZodType;
  /** A JSON Schema for a non-JSON body (text, event stream); prefer `text`. */
  rawSchema?: Json;
  headers?: Record<string, Json>;
}

export interface RouteDecl {
  method: 'get' | 'post' | 'put' | 'delete';
  /** The express path (`:param`, `\\:` for a literal colon); the OpenAPI path is derived. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  query?: z.ZodObject;
  /** `optional`: an absent body reads as `{}`. */
  body?: { name: string; schema: z.ZodType; optional?: boolean } | { contentTypes: string[]; description: string };
  /** Whether the route parses a JSON body (adds the body parser's codes to the document). */
  jsonBody?: boolean;
  /** Headers and query parameters the schemas above do not describe. */
  extraParameters?: Json[];
  responses: Record<number, ResponseDecl>;
  /** Problem codes beyond the ones every route of its kind can give (see openapi.ts `commonErrors`). */
  errors: ErrorCode[];
}

/**
 * The body a declared route answers with `status`: `z.output` of its declared schema. Clients take
 * their answer types from it with type-only imports (src/cli/api-types.ts, src/console/types.d.ts).
 */
export type Answer<D extends RouteDecl, S extends keyof D['responses']> = D['responses'][S] extends { body: { schema: infer Z extends z.ZodType } } ? z.output<Z> : never;

/** The JSON body a declared route takes, as a client sends it: `z.input` of its declared schema (defaults optional). */
export type RequestBody<D extends RouteDecl> = D['body'] extends { schema: infer Z extends z.ZodType } ? z.input<Z> : never;

/** Declares a route, keeping its literal types (statuses, schemas) for `route()`. */
export const declare = <const D extends RouteDecl>(d: D): D => d;

/** `/v1/intents/:key` → `/v1/intents/{key}`; `\\:` is a literal colon. */
export function openApiPath(path: string): string {
  return path.replace(/(?<!\\):(\w+)/g, '{$1}').replace(/\\:/g, ':');
}

/**
 * The declared path as a matcher for a raw request path (the read path's, in front of express): one
 * capture per parameter, a segment of anything but `/` and `?`, exactly as express 5 matches it.
 */
export function pathMatcher(path: string): RegExp {
  const parts = openApiPath(path).split(/\{\w+\}/);
  return new RegExp(`^${parts.map((p) => p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('([^/?]+)')}$`);
}

export function accessText(a: Access): string {
  switch (a.kind) {
    case 'public':
      return 'public';
    case 'token':
      return a.note ?? 'any token';
    case 'service':
      return a.ticket ? "that service's token, or any human role; or the stream ticket of a bulk answer" : "that service's token, or any human role";
    case 'roles':
    case 'domain':
      return [...a.roles.map((r) => (a.qualify?.[r] ? `${r} (${a.qualify[r]})` : r)), 'admin'].join(', ') + (a.note ? ` ${a.note}` : '');
  }
}

// ---------------------------------------------------------------------------------------------
// Typed answers.

/** Keys of every member of a union (`keyof` of a union keeps only the common ones). */
type KeysOf<S> = S extends unknown ? keyof S : never;
type At<S, K> = S extends unknown ? (K extends keyof S ? S[K] : never) : never;
type ElementOf<S> = S extends readonly (infer E)[] ? E : never;

/**
 * `T` with every member that `S` (the declared shape) lacks turned into `never`, at any depth, so
 * `body: T & NoExtra<S, T>` refuses a value carrying an undeclared field even when it is not a
 * fresh object literal (where TypeScript's own excess-property check does not apply).
 */
export type NoExtra<S, T> = unknown extends S
  ? T
  : T extends readonly (infer E)[]
    ? readonly NoExtra<ElementOf<S>, E>[]
    : T extends object
      ? { [K in keyof T]: K extends KeysOf<NonNullable<S>> ? NoExtra<At<NonNullable<S>, K>, T[K]> : never }
      : T;

type Statuses<D extends RouteDecl> = keyof D['responses'] & number;
type BodyOf<D extends RouteDecl, S extends Statuses<D>> = D['responses'][S] extends { body: { schema: infer Z extends z.ZodType } } ? z.output<Z> : never;
type EmptyStatuses<D extends RouteDecl> = { [S in Statuses<D>]: D['responses'][S] extends { body: object } ? never : S }[Statuses<D>];

declare const SENT: unique symbol;
/** What a handler returns: proof that it answered through its context (or handed the response over). */
export interface Sent {
  readonly [SENT]: true;
}
const sent = {} as Sent;

/**
 * A prepared answer (`reply.ts`) with a status the route declares; its JSON text, built with
 * `jsonText`, carries the type it was made from, which must be the declared body's.
 */
export type DeclaredReply<D extends RouteDecl> = {
  [S in Statuses<D>]: { status: S; etag?: string } & (D['responses'][S] extends { body: object } ? { json: JsonText<BodyOf<D, S>> } : { json?: undefined });
}[Statuses<D>];

export interface RouteContext<D extends RouteDecl> {
  req: Request;
  res: Response;
  /** The caller (a 401 was answered already for a route that is not public; a ticket route resolves its own). */
  actor: D['access'] extends { kind: 'public' } | { ticket: true } ? null : Actor;
  /** The query, parsed with the declared schema (400 `validation_failed` otherwise). */
  query: D['query'] extends z.ZodType ? z.output<D['query']> : Record<string, never>;
  /** A JSON answer with a declared status, typed by that status's schema. */
  reply<S extends Statuses<D>, B extends BodyOf<D, S>>(status: S, body: B & NoExtra<BodyOf<D, S>, B>, options?: { etag?: string }): Sent;
  /** An answer without a body (204). */
  empty(status: EmptyStatuses<D>): Sent;
  /** A prepared answer (the one the read path writes too), through express's `res.send`. */
  send(reply: DeclaredReply<D>): Sent;
  /** The handler answers on `res` itself (an event stream, a prepared Reply). */
  handedOver(): Sent;
}

const DECLARATION = Symbol('switchyard.routeDeclaration');

/** The declaration an express route handler was registered with, if it was registered through `route()`. */
export function declarationOf(handler: unknown): RouteDecl | undefined {
  return (handler as { [DECLARATION]?: RouteDecl } | null)?.[DECLARATION];
}

/**
 * Registers `decl` on `router`: the access rule, the declared query schema, then the handler. The
 * handler answers through its context, so what it sends is what the declaration says.
 */
export function route<const D extends RouteDecl>(router: Router, decl: D, handler: (ctx: RouteContext<D>) => Promise<Sent> | Sent): void {
  const run = async (req: Request, res: Response) => {
    const access = decl.access;
    const actor = access.kind === 'public' || (access.kind === 'service' && access.ticket) ? null : actorOf(res);
    if (actor) applyAccess(access, actor, access.kind === 'service' ? param(req, access.param) : undefined);
    const query = decl.query ? parseWith(decl.query, req.query, 'query') : {};
    const ctx: RouteContext<RouteDecl> = {
      req,
      res,
      actor: actor as Actor,
      query: query as never,
      reply(status, body, options) {
        if (options?.etag !== undefined) {
          // The ETag names a version, not these bytes: no 304 from express (res.send would answer a
          // matching If-None-Match with one), so res.end.
          res.setHeader('ETag', options.etag);
          res.setHeader('Cache-Control', 'no-cache');
          res.status(status).type('application/json; charset=utf-8').end(JSON.stringify(body));
        } else {
          res.status(status).json(body);
        }
        return sent;
      },
      empty(status) {
        res.status(status).end();
        return sent;
      },
      send(reply) {
        sendReply(res, reply);
        return sent;
      },
      handedOver: () => sent,
    };
    await handler(ctx as unknown as RouteContext<D>);
  };
  Object.defineProperty(run, DECLARATION, { value: decl });
  router[decl.method](decl.path, run);
}
