import { Router } from 'express';
import { openApiJson } from './openapi.js';

/** `GET /openapi.json`: public, like /healthz, so tools can fetch the description without a token. */
export function openApiRouter(): Router {
  const r = Router();
  r.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(openApiJson());
  });
  return r;
}
