import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../fixtures/http.js';
import { buildModifiedBundle } from '../helpers/bundles.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';

/**
 * SPEC §4: an approval is tied to what the approver read (`version`, or `If-Match` with the
 * intent's ETag; anything else is 409 version_changed and nothing is stored), and approvals count
 * people, by token name after NFC normalisation, trimming and case folding.
 */

/** Pending an sre approval: checkout-api is critical. One flag per key, no layer, so keys never collide. */
const critical = (key: string, overrides: Record<string, unknown> = {}) =>
  simpleIntent(key, { services: [{ service: 'checkout-api', flag: `${key.replace(/-/g, '_')}_flag` }], exposure: 1, ...overrides });

/** The shipped policy, except that a critical service owes `count` sre approvals. */
function sreCount(count: number) {
  return (dir: string) => {
    const file = path.join(dir, 'data.json');
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    data.switchyard.catalog.obligations.approvals.by_tier.critical = [{ role: 'sre', count }];
    fs.writeFileSync(file, JSON.stringify(data, null, 2));
  };
}

/**
 * A GET through node:http, so If-None-Match goes out alone: fetch adds `Cache-Control: no-cache` to
 * a conditional request, which makes any server answer 200 and would hide a wrong 304.
 */
function rawGet(base: string, url: string, headers: Record<string, string>): Promise<{ status: number; etag: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(base + url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body }));
      })
      .on('error', reject);
  });
}

describe('approvals tied to the version read', () => {
  let s: TestServer;
  let alice: Api; // owner, growth
  let sam: Api; // sre approver
  let samSecret: string;

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    const t = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    sam = t;
    samSecret = t.secret;
  });
  afterAll(async () => s.close());

  const auditTypes = async (key: string) => ((await alice.get(`/v1/audit?experiment=${key}`)).body.events as { type: string }[]).map((e) => e.type);

  it('the issue: sam reads v1 (1 %), alice submits v2 (5 %, an extra flag), sam approves version 1: refused, nothing stored, v2 still pending', async () => {
    expect((await alice.post('/v1/intents', critical('read-v1'))).body.status).toBe('pending_approval');
    const read = await sam.get('/v1/intents/read-v1');
    expect(read.body).toMatchObject({ version: 1, intent: { exposure: 1 } });

    const v2 = critical('read-v1', {
      exposure: 5,
      services: [
        { service: 'checkout-api', flag: 'read_v1_flag' },
        { service: 'web', flag: 'read_v1_extra' },
      ],
    });
    const put = await alice.put('/v1/intents/read-v1', v2);
    expect(put.body).toMatchObject({ intent: { version: 2 }, status: 'pending_approval' });
    const before = await s.dump();

    const refused = expectProblem(await sam.post('/v1/intents/read-v1/approvals', { version: read.body.version, comment: 'lgtm' }), 409, 'version_changed');
    expect(refused).toMatchObject({ current_version: 2, requested_version: 1 });
    expect(refused.detail).toContain('version 2');

    expect(await s.dump()).toEqual(before);
    const after = await sam.get('/v1/intents/read-v1');
    expect(after.body).toMatchObject({ version: 2, status: 'pending_approval', state: 'draft', approvals: [], outstanding_approvals: [{ role: 'sre', missing: 1 }] });
    expect(await auditTypes('read-v1')).not.toContain('approved');
    expect((await alice.get('/v1/services/web/flags')).body.flags.read_v1_extra).toBeUndefined();

    // Having read v2, sam may approve it.
    const ok = await sam.post('/v1/intents/read-v1/approvals', { version: 2 });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body).toMatchObject({ intent: { key: 'read-v1', version: 2 }, status: 'approved' });
  });

  it('an approval without a pin still approves the current version (the SPEC keeps version optional)', async () => {
    await alice.post('/v1/intents', critical('unpinned'));
    const ok = await sam.post('/v1/intents/unpinned/approvals', {});
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ intent: { version: 1 }, status: 'approved' });
  });

  it('refuses a version that does not exist yet, as any other than the current one', async () => {
    await alice.post('/v1/intents', critical('future-version'));
    expectProblem(await sam.post('/v1/intents/future-version/approvals', { version: 2 }), 409, 'version_changed');
    expect((await sam.get('/v1/intents/future-version')).body).toMatchObject({ status: 'pending_approval', approvals: [] });
  });

  it('checks the pin before anything else: a stale pin on a version that is no longer pending is version_changed', async () => {
    await alice.post('/v1/intents', critical('stale-denied'));
    // v2 is denied (critical services are capped at 5 %): nothing to approve, but sam read v1.
    expect((await alice.put('/v1/intents/stale-denied', critical('stale-denied', { exposure: 50 }))).body.status).toBe('denied');
    expectProblem(await sam.post('/v1/intents/stale-denied/approvals', { version: 1 }), 409, 'version_changed');
    expectProblem(await sam.post('/v1/intents/stale-denied/approvals', { version: 2 }), 409, 'not_pending_approval');
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['a fraction', 1.5],
    ['a string', '1'],
    ['null', null],
  ])('refuses a version that is %s (400, the field named)', async (_name, version) => {
    await alice.post('/v1/intents', critical(`bad-pin-${String(_name).replace(/\W/g, '')}`));
    const res = await sam.post(`/v1/intents/bad-pin-${String(_name).replace(/\W/g, '')}/approvals`, { version });
    const body = expectProblem(res, 400, 'validation_failed');
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(['version']);
  });

  describe('ETag and If-Match', () => {
    it('GET /v1/intents/{key} carries a strong ETag that names the version: kept by approvals, changed by a new version, never answered with 304', async () => {
      await s.api.post('/v1/intents', critical('etag-shape'));
      const first = await sam.get('/v1/intents/etag-shape');
      const tag = first.headers.get('etag')!;
      expect(tag).toMatch(/^"v1-[A-Za-z0-9_-]{22}"$/);

      // Another intent's v1 has another tag.
      await s.api.post('/v1/intents', critical('etag-other'));
      expect((await sam.get('/v1/intents/etag-other')).headers.get('etag')).not.toBe(tag);

      // An approval of v1 changes the document, not the tag, and If-None-Match never turns it into a 304.
      expect((await sam.post('/v1/intents/etag-shape/approvals', {}, { 'if-match': tag })).status).toBe(201);
      const approved = await rawGet(s.base, '/v1/intents/etag-shape', { authorization: `Bearer ${samSecret}`, 'if-none-match': tag });
      expect(approved.status).toBe(200);
      expect(JSON.parse(approved.body)).toMatchObject({ status: 'approved', approvals: [{ actor: 'sam' }] });
      expect(approved.etag).toBe(tag);

      const v2 = await s.api.put('/v1/intents/etag-shape', critical('etag-shape', { exposure: 2 }));
      expect(v2.body.intent.version).toBe(2);
      const next = (await sam.get('/v1/intents/etag-shape')).headers.get('etag')!;
      expect(next).toMatch(/^"v2-/);
      expect(next).not.toBe(tag);
    });

    it('If-Match with the current ETag approves (201); with a stale one it is 409 version_changed and nothing is stored', async () => {
      await alice.post('/v1/intents', critical('if-match'));
      const v1Tag = (await sam.get('/v1/intents/if-match')).headers.get('etag')!;
      await alice.put('/v1/intents/if-match', critical('if-match', { exposure: 2 }));
      const before = await s.dump();
      const stale = expectProblem(await sam.post('/v1/intents/if-match/approvals', {}, { 'if-match': v1Tag }), 409, 'version_changed');
      expect(await s.dump()).toEqual(before);
      const current = (await sam.get('/v1/intents/if-match')).headers.get('etag')!;
      expect(stale).toMatchObject({ current_version: 2, current_etag: current });
      expect(stale.requested_version).toBeUndefined();

      const ok = await sam.post('/v1/intents/if-match/approvals', { comment: 'read v2' }, { 'if-match': current });
      expect(ok.status, ok.text).toBe(201);
      expect(ok.body).toMatchObject({ intent: { version: 2 }, status: 'approved' });
    });

    it('refuses a foreign ETag (another intent at the same version) and a weak tag (If-Match compares strongly)', async () => {
      await alice.post('/v1/intents', critical('if-match-a'));
      await alice.post('/v1/intents', critical('if-match-b'));
      const a = (await sam.get('/v1/intents/if-match-a')).headers.get('etag')!;
      const b = (await sam.get('/v1/intents/if-match-b')).headers.get('etag')!;
      expectProblem(await sam.post('/v1/intents/if-match-a/approvals', {}, { 'if-match': b }), 409, 'version_changed');
      expectProblem(await sam.post('/v1/intents/if-match-a/approvals', {}, { 'if-match': `W/${a}` }), 409, 'version_changed');
      expect((await sam.get('/v1/intents/if-match-a')).body.approvals).toEqual([]);
      // A list approves when any of its tags is the current one.
      expect((await sam.post('/v1/intents/if-match-a/approvals', {}, { 'if-match': `${b}, ${a}` })).status).toBe(201);
    });

    it('refuses when If-Match and version disagree, whichever of them is stale', async () => {
      await alice.post('/v1/intents', critical('disagree'));
      const v1Tag = (await sam.get('/v1/intents/disagree')).headers.get('etag')!;
      await alice.put('/v1/intents/disagree', critical('disagree', { exposure: 2 }));
      const v2Tag = (await sam.get('/v1/intents/disagree')).headers.get('etag')!;
      expectProblem(await sam.post('/v1/intents/disagree/approvals', { version: 2 }, { 'if-match': v1Tag }), 409, 'version_changed');
      expectProblem(await sam.post('/v1/intents/disagree/approvals', { version: 1 }, { 'if-match': v2Tag }), 409, 'version_changed');
      expect((await sam.get('/v1/intents/disagree')).body.approvals).toEqual([]);
      expect((await sam.post('/v1/intents/disagree/approvals', { version: 2 }, { 'if-match': v2Tag })).status).toBe(201);
    });

    it('If-Match: * pins nothing (the intent exists): it approves the current version', async () => {
      await alice.post('/v1/intents', critical('if-match-star'));
      await alice.put('/v1/intents/if-match-star', critical('if-match-star', { exposure: 2 }));
      const ok = await sam.post('/v1/intents/if-match-star/approvals', {}, { 'if-match': '*' });
      expect(ok.status).toBe(201);
      expect(ok.body.intent.version).toBe(2);
    });

    it.each([['v1-abc'], [''], ['"unclosed'], ['"a" "b"'], [',']])('a malformed If-Match (%j) is 400 validation_failed naming the header, and nothing is stored', async (value) => {
      const key = `if-match-bad-${Buffer.from(value).toString('hex').slice(0, 12) || 'empty'}`;
      await alice.post('/v1/intents', critical(key));
      const res = await sam.post(`/v1/intents/${key}/approvals`, {}, { 'if-match': value });
      const body = expectProblem(res, 400, 'validation_failed');
      expect(body.errors).toEqual([{ path: 'If-Match', message: expect.stringContaining('quoted entity tags') }]);
      expect((await sam.get(`/v1/intents/${key}`)).body.approvals).toEqual([]);
    });
  });
});

describe('approvals count people by normalised name', () => {
  let s: TestServer;
  let dir: string;
  let owner: Api; // named "Alice"

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-count2-'));
    const bundle = path.join(dir, 'bundle.tar.gz');
    fs.writeFileSync(bundle, buildModifiedBundle(sreCount(2), 'sre-count-2'));
    s = await startServer({ bundlePath: bundle });
    owner = await s.token({ name: 'Alice', role: 'owner', team: 'growth' });
  });
  afterAll(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sre = (name: string) => s.token({ name, role: 'approver', approval_roles: ['sre'] });

  it('"sam" and " Sam " are one person: the second is already_approved, and with count 2 the obligation stays unfilled', async () => {
    expect((await owner.post('/v1/intents', critical('two-sams'))).body.decision.obligations.approvals).toEqual([{ role: 'sre', count: 2 }]);
    const sam = await sre('sam');
    const samAgain = await sre(' Sam ');

    const first = await sam.post('/v1/intents/two-sams/approvals', { version: 1 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'pending_approval', outstanding: [{ role: 'sre', count: 2, missing: 1 }] });

    const before = await s.dump();
    const twice = expectProblem(await samAgain.post('/v1/intents/two-sams/approvals', { version: 1 }), 409, 'already_approved');
    expect(twice.detail).toContain('sam');
    expect(await s.dump()).toEqual(before);
    expect((await owner.get('/v1/intents/two-sams')).body).toMatchObject({
      status: 'pending_approval',
      state: 'draft',
      approvals: [{ actor: 'sam' }],
      outstanding_approvals: [{ role: 'sre', count: 2, approved_by: ['sam'], missing: 1 }],
    });

    // A second person fills it.
    const sasha = await sre('sasha');
    expect((await sasha.post('/v1/intents/two-sams/approvals', { version: 1 })).body).toMatchObject({ status: 'approved', outstanding: [] });
  });

  it('compares after NFC and case folding: "José" (composed) and "JOSE\\u0301" (decomposed) are one person, as are "Straße" and "STRASSE"', async () => {
    await owner.post('/v1/intents', critical('unicode-names'));
    expect((await (await sre('Jos\u00e9')).post('/v1/intents/unicode-names/approvals', {})).status).toBe(201);
    expectProblem(await (await sre('JOSE\u0301')).post('/v1/intents/unicode-names/approvals', {}), 409, 'already_approved');
    expect((await (await sre('Straße')).post('/v1/intents/unicode-names/approvals', {})).body.status).toBe('approved');

    await owner.post('/v1/intents', critical('unicode-names-2'));
    expect((await (await sre('STRASSE')).post('/v1/intents/unicode-names-2/approvals', {})).status).toBe(201);
    expectProblem(await (await sre('Straße')).post('/v1/intents/unicode-names-2/approvals', {}), 409, 'already_approved');
    expect((await owner.get('/v1/intents/unicode-names-2')).body.outstanding_approvals).toEqual([{ role: 'sre', count: 2, approved_by: ['STRASSE'], missing: 1 }]);
  });

  it('a submitter named "Alice" approving as "alice " is self_approval, and nothing is stored', async () => {
    await owner.post('/v1/intents', critical('self-alice'));
    const aliceSre = await sre('alice ');
    const before = await s.dump();
    const res = expectProblem(await aliceSre.post('/v1/intents/self-alice/approvals', { version: 1 }), 403, 'self_approval');
    expect(res.detail).toContain('Alice');
    expect(await s.dump()).toEqual(before);
    expect((await owner.get('/v1/intents/self-alice')).body).toMatchObject({ status: 'pending_approval', approvals: [], outstanding_approvals: [{ missing: 2 }] });
  });
});
