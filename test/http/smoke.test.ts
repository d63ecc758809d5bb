import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleIntent, startServer, type TestServer } from '../helpers/harness.js';

describe('smoke', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s.close());

  it('decides the SPEC example as pending sre approval', async () => {
    const owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    const res = await owner.post('/v1/intents', exampleIntent());
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending_approval');
    expect(res.body.decision.obligations.approvals).toEqual([{ role: 'sre', count: 1 }]);
  });
});
