/**
 * Compile-time proof that a handler's answer is typed by its route's declared response schema
 * (src/http/route.ts). Checked by `tsc -p tsconfig.json` (make test's type check): each
 * `@ts-expect-error` line must be an error, or tsc fails with "Unused '@ts-expect-error'".
 */
import { Router } from 'express';
import { z } from 'zod';
import { jsonText, type JsonText } from '../../src/http/reply.js';
import { declare, route } from '../../src/http/route.js';

const Answer = z.object({ id: z.string(), items: z.array(z.object({ n: z.number() })), parent: z.object({ key: z.string() }).nullable() });
const decl = declare({
  method: 'get',
  path: '/example/:id',
  operationId: 'example',
  tag: 'meta',
  summary: 'example',
  access: { kind: 'token' },
  responses: { 200: { description: 'ok', body: { name: 'Example', schema: Answer } }, 204: { description: 'nothing' } },
  errors: [],
});

const r = Router();
const fromDomain = { id: 'a', items: [{ n: 1 }], parent: null, secret: 'leak' };
const nested = { id: 'a', items: [{ n: 1, hash: 'x' }], parent: { key: 'k' } };
const good = { id: 'a', items: [{ n: 1 }], parent: { key: 'k' } };

route(r, decl, ({ reply }) => reply(200, good));
route(r, decl, ({ empty }) => empty(204));
// @ts-expect-error a field the schema lacks, on a value that is not a fresh literal
route(r, decl, ({ reply }) => reply(200, fromDomain));
// @ts-expect-error a field the schema lacks, inside an array element
route(r, decl, ({ reply }) => reply(200, nested));
// @ts-expect-error a field the schema requires is missing
route(r, decl, ({ reply }) => reply(200, { id: 'a', items: [] }));
// @ts-expect-error a status the route does not declare
route(r, decl, ({ reply }) => reply(201, good));
// @ts-expect-error a status with a body cannot be answered empty
route(r, decl, ({ empty }) => empty(200));

// Prepared answers (`send`, what the read path writes too): the JSON text carries its value's type.
const conditional = declare({
  method: 'get',
  path: '/example/:id/doc',
  operationId: 'exampleDoc',
  tag: 'meta',
  summary: 'example',
  access: { kind: 'service', param: 'id' },
  responses: { 200: { description: 'ok', body: { name: 'Example', schema: Answer } }, 304: { description: 'not modified' } },
  errors: [],
});
type AnswerOut = z.output<typeof Answer>;
route(r, conditional, ({ send }) => send({ status: 200, etag: '"e"', json: jsonText(good as AnswerOut) }));
route(r, conditional, ({ send }) => send({ status: 304, etag: '"e"' }));
// @ts-expect-error text that is not known to be JSON of the declared body
route(r, conditional, ({ send }) => send({ status: 200, json: '{"id":"a"}' }));
// @ts-expect-error the JSON text of a value with a field the schema lacks
route(r, conditional, ({ send }) => send({ status: 200, json: jsonText(fromDomain as typeof fromDomain & AnswerOut) }));
// @ts-expect-error the JSON text of a value that lacks a field the schema requires
route(r, conditional, ({ send }) => send({ status: 200, json: '' as JsonText<{ id: string; items: { n: number }[] }> }));
// @ts-expect-error a status the route does not declare
route(r, conditional, ({ send }) => send({ status: 404, json: jsonText(good as AnswerOut) }));
// @ts-expect-error a status with a body sent without one
route(r, conditional, ({ send }) => send({ status: 200, etag: '"e"' }));
// @ts-expect-error a status without a body sent with one
route(r, conditional, ({ send }) => send({ status: 304, etag: '"e"', json: jsonText(good as AnswerOut) }));
