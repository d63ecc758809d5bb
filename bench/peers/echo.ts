/**
 * The HTTP floor under the OFREP rows: the same POST answered with no application code, once by
 * express 5 with express.json() (what Switchyard is built on) and once by bare node:http (what the
 * flagd substitute is built on). The difference is the framework's share of every request.
 *
 *   node dist/bench/peers/echo.js express|http PORT
 */
import http from 'node:http';
import express from 'express';

const [kind, port] = process.argv.slice(2);
const listening = () => process.stdout.write(`${kind} echo listening on ${port}\n`);

if (kind === 'express') {
  const app = express();
  app.use(express.json());
  app.post('/echo', (req, res) => {
    res.json({ flags: [req.body] });
  });
  app.listen(Number(port), '127.0.0.1', listening);
} else {
  http
    .createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ flags: [JSON.parse(body)] }));
      });
    })
    .listen(Number(port), '127.0.0.1', listening);
}
