import { Router } from 'express';
import { z } from 'zod';
import { EXPERIMENT_STATES } from '../intents/intent-store.js';
import type { IntentService } from '../intents/intent-service.js';
import { LIFECYCLE_ACTIONS, type Lifecycle } from '../intents/lifecycle.js';
import { actorOf, allow, READERS } from './auth.js';
import { decimalInt, jsonBody, param, parseWith } from './body.js';
import { parseIfMatch } from './if-match.js';

export const ApprovalSchema = z.strictObject({
  comment: z.string().max(2000).optional(),
  /** The version the approver read: the approval is refused (409 version_changed) if another is current. */
  version: z.int32().positive().optional(),
});
const reason = z.string().min(1).max(2000);
/** SPEC §4 and §10: `advance` may omit its reason; `ship` names the variant to serve to every unit. */
export const ActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.enum(LIFECYCLE_ACTIONS).exclude(['advance']), reason }),
  z.strictObject({ action: z.literal('advance'), reason: reason.optional() }),
  z.strictObject({ action: z.literal('ship'), variant: z.string().min(1).max(200), reason }),
]);
export const ListQuery = z.strictObject({
  owner: z.string().max(128).optional(),
  /** Archived intents are listed only when asked for by name. */
  state: z.enum(EXPERIMENT_STATES).optional(),
  cursor: z.string().max(256).optional(),
  limit: decimalInt(1, 500).default(100),
});

export function intentsRouter(intents: IntentService, lifecycle: Lifecycle): Router {
  const r = Router();

  r.post('/v1/intents', async (req, res) => {
    res.status(201).json(await intents.submit(jsonBody(req), actorOf(res)));
  });

  r.post('/v1/intents\\:evaluate', async (req, res) => {
    res.status(200).json(await intents.evaluate(jsonBody(req), actorOf(res)));
  });

  r.get('/v1/intents', allow(READERS, 'read intents'), async (req, res) => {
    const q = parseWith(ListQuery, req.query, 'query');
    res.json(await intents.list({ ...(q.owner ? { owner: q.owner } : {}), ...(q.state ? { state: q.state } : {}), ...(q.cursor ? { after: q.cursor } : {}), limit: q.limit }));
  });

  r.get('/v1/intents/:key', allow(READERS, 'read intents'), async (req, res) => {
    const { detail, etag } = await intents.read(param(req, 'key'), actorOf(res));
    // The ETag names the current version (what an approval's If-Match pins), not these bytes, which
    // change with every approval. So no 304: res.end, because res.send would answer a matching
    // If-None-Match with one.
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    res.status(200).type('application/json; charset=utf-8').end(JSON.stringify(detail));
  });

  r.delete('/v1/intents/:key', async (req, res) => {
    res.status(200).json(await intents.archive(param(req, 'key'), actorOf(res)));
  });

  r.put('/v1/intents/:key', async (req, res) => {
    res.status(200).json(await intents.update(param(req, 'key'), jsonBody(req), actorOf(res)));
  });

  r.post('/v1/intents/:key/approvals', async (req, res) => {
    const body = parseWith(ApprovalSchema, jsonBody(req), 'approval');
    const ifMatch = parseIfMatch(req.headers['if-match']);
    res.status(201).json(await intents.approve(param(req, 'key'), actorOf(res), { comment: body.comment, version: body.version, ifMatch }));
  });

  r.post('/v1/intents/:key/actions', async (req, res) => {
    const actor = actorOf(res);
    const body = parseWith(ActionSchema, jsonBody(req), 'action');
    if (body.action === 'ship') {
      // A ship is a new version with its own decision (SPEC §10): answered like a submission.
      const result = await intents.ship(param(req, 'key'), body.variant, body.reason, actor);
      res.status(201).json(result);
      return;
    }
    await lifecycle.act(param(req, 'key'), body.action, body.reason, actor);
    res.status(200).json(await intents.get(param(req, 'key'), actor));
  });

  return r;
}
