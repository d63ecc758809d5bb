import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';

/** SPEC §8: GET /v1/tokens (admin, no secrets) and GET /v1/services (the catalog with tiers). */
describe('GET /v1/tokens and GET /v1/services', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => s?.close());

  it('lists every token with its fields, revoked ones marked, and never a secret or its hash', async () => {
    const owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    const sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre', 'privacy'] });
    const web = await s.token({ name: 'web-prod', role: 'service', service: 'web' });
    expect((await s.api.del(`/v1/tokens/${sre.id}`)).status).toBe(204);

    const res = await s.api.get('/v1/tokens');
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.body.tokens.map((t: { name: string }) => [t.name, t]));
    expect(byName['alice']).toEqual({ id: owner.id, name: 'alice', role: 'owner', team: 'growth', created_at: '2026-11-25T12:00:00.000Z' });
    expect(byName['sam']).toEqual({
      id: sre.id, name: 'sam', role: 'approver', approval_roles: ['sre', 'privacy'], created_at: '2026-11-25T12:00:00.000Z', revoked_at: '2026-11-25T12:00:00.000Z',
    });
    expect(byName['web-prod']).toMatchObject({ id: web.id, role: 'service', service: 'web' });
    expect(byName['bootstrap-admin']).toMatchObject({ role: 'admin' });
    for (const secret of [owner.secret, sre.secret, web.secret, ADMIN_TOKEN]) expect(res.text).not.toContain(secret);
    expect(res.text).not.toMatch(/"(token|hash)"/);
    // The stored hashes are not in it either.
    const hashes = s.container.db.prepare('SELECT hash FROM tokens').pluck().all() as string[];
    for (const h of hashes) expect(res.text).not.toContain(h);

    expect((await owner.get('/v1/tokens')).body).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it("lists the active policy's catalog with tiers, to any token, a service token included", async () => {
    const data = JSON.parse(fs.readFileSync(path.join(ROOT, 'policies/data.json'), 'utf8'));
    const catalog = data.switchyard.catalog.services as Record<string, { tier: string }>;
    const expected = Object.keys(catalog).sort().map((service) => ({ service, tier: catalog[service]!.tier }));
    const web = await s.token({ name: 'web-2', role: 'service', service: 'web' });
    const res = await web.get('/v1/services');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ services: expected });
    expect(res.body.services).toContainEqual({ service: 'payments', tier: 'critical' });
  });
});
