import { ADMIN, api, load, startServer, type Row } from './lib.js';

/** POST /v1/intents through HTTP into SQLite with synchronous=FULL: every answer is durable. */
export async function submissionBench(port: number, seconds: number): Promise<Row[]> {
  const server = await startServer(port);
  try {
    const { token } = await api(server.base, ADMIN, 'POST', '/v1/tokens', { name: 'bench-owner', role: 'owner', team: 'growth' });
    let n = 0;
    const services = ['web', 'search', 'recommendations'];
    const r = await load({
      url: server.base,
      duration: seconds,
      connections: 10,
      requests: [
        {
          method: 'POST',
          path: '/v1/intents',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          setupRequest: (req) => {
            const i = n++;
            return {
              ...req,
              body: JSON.stringify({
                key: `bench-${i}`,
                owner: 'growth',
                services: [{ service: services[i % 3]!, flag: `flag_${i}` }],
                variants: [
                  { key: 'control', weight: 50, value: false },
                  { key: 'treatment', weight: 50, value: true },
                ],
                exposure: 1,
              }),
            };
          },
        },
      ],
    });
    return [
      { section: 'intents', name: 'POST /v1/intents (decide + store + flags, fsync)', metric: 'throughput', value: r.rps, unit: 'req/s', note: `${r.non2xx} non-2xx, 10 connections` },
      { section: 'intents', name: 'POST /v1/intents (decide + store + flags, fsync)', metric: 'p99', value: r.p99, unit: 'ms' },
    ];
  } finally {
    await server.stop();
  }
}
