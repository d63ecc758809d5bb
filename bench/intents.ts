import type { Call } from './lib.js';

const SERVICES = ['web', 'search', 'recommendations'];

/**
 * `n` distinct `POST /v1/intents` calls for an owner of team growth: small intents on standard and
 * experimental services that the policy approves at once, so each one is a full submission (decision,
 * version, audit events, a new flags document version) committed with synchronous=FULL.
 */
export function submissionCalls(token: string, n: number): Call[] {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return Array.from({ length: n }, (_, i) => ({
    method: 'POST',
    path: '/v1/intents',
    headers,
    status: 201,
    body: JSON.stringify({
      key: `bench-${i}`,
      owner: 'growth',
      services: [{ service: SERVICES[i % 3]!, flag: `flag_${i}` }],
      variants: [
        { key: 'control', weight: 50, value: false },
        { key: 'treatment', weight: 50, value: true },
      ],
      exposure: 1,
    }),
  }));
}
