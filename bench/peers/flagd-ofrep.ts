/**
 * flagd's JavaScript evaluator, `@openfeature/flagd-core`, behind a bare node:http server on the two
 * OFREP routes flagd serves, with flagd's request and response shapes. It is deliberately minimal
 * (no auth, no logging, no metrics, no body limit): the evaluator's cost plus the least HTTP a Node
 * server can do, the floor against which our own Node server's extra work shows. The flagd daemon
 * itself is benchmarked too (bench/peers/flagd). docs/adr/0002 has the reasoning.
 *
 *   node dist/bench/peers/flagd-ofrep.js PORT FLAGD_JSON_FILE
 */
import fs from 'node:fs';
import http from 'node:http';
import { FlagdCore } from '@openfeature/flagd-core';

type Context = NonNullable<Parameters<FlagdCore['resolveAll']>[0]>;
type Details = { flagKey?: string; value?: unknown; variant?: string; reason: string; errorCode?: string; errorMessage?: string; flagMetadata?: unknown };

const [port, file] = process.argv.slice(2);
const core = new FlagdCore();
core.setConfigurations(fs.readFileSync(file!, 'utf8'));

const ROUTE = /^\/ofrep\/v1\/evaluate\/flags(?:\/([^/?]+))?\/?(?:\?.*)?$/;

/** flagd's OFREP answer for one flag. */
function ofrep(key: string, d: Details) {
  if (d.errorCode) return { key, errorCode: d.errorCode, errorDetails: d.errorMessage ?? '' };
  return { key, value: d.value, reason: d.reason, variant: d.variant, metadata: d.flagMetadata ?? {} };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const match = req.method === 'POST' ? ROUTE.exec(req.url ?? '') : null;
  if (!match) return send(res, 404, { errorCode: 'GENERAL', errorDetails: 'no such route' });
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    let context: Context;
    try {
      context = ((JSON.parse(body || '{}') as { context?: Context }).context ?? {}) as Context;
    } catch {
      return send(res, 400, { errorCode: 'PARSE_ERROR', errorDetails: 'the body is not JSON' });
    }
    if (match[1] === undefined) {
      const flags = core.resolveAll(context).map((d) => ofrep(d.flagKey, d as Details));
      return send(res, 200, { flags });
    }
    const key = decodeURIComponent(match[1]);
    const flag = core.getFlag(key);
    if (!flag) return send(res, 404, { key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `flag '${key}' not found` });
    const d = flag.evaluate(context) as Details;
    send(res, d.errorCode ? 400 : 200, ofrep(key, d));
  });
});

server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`flagd-core OFREP listening on ${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
