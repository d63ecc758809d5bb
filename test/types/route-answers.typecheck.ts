/**
 * Compile-time proof that a handler's answer is typed by its route's declared response schema
 * (src/http/route.ts). Checked by `tsc -p tsconfig.json` (make test's type check): each
 * `@ts-expect-error` line must be an error, or tsc fails with "Unused '@ts-expect-error'".
 */
import { Router } from 'express';
import { z } from 'zod';
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
