import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDatabase, expectProblem } from '../fixtures/http.js';
import { simpleIntent, startServer, type Api, type ApiResponse, type TestServer } from '../helpers/harness.js';

/**
 * SPEC §2: a body that is not an intent gets 400 with every bad field listed, and nothing is stored.
 * "Nothing" is checked on the whole database: every row of every table before and after.
 */
describe('intent validation', () => {
  let s: TestServer;
  let alice: Api;

  beforeAll(async () => {
    s = await startServer();
    alice = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    // An existing intent, so that PUT has something it could wrongly change.
    expect((await alice.post('/v1/intents', simpleIntent('existing'))).body.status).toBe('approved');
  });
  afterAll(async () => s.close());

  const valid = () => simpleIntent('valid-intent');

  /** Sends the request and checks that the database is exactly as it was. */
  async function unchanged(send: () => Promise<ApiResponse>): Promise<ApiResponse> {
    const before = dumpDatabase(s.container.db);
    const res = await send();
    expect(dumpDatabase(s.container.db)).toEqual(before);
    return res;
  }

  /** 400 validation_failed listing exactly these paths, each with a message. */
  function expectFields(res: ApiResponse, paths: string[]): Record<string, any>[] {
    const body = expectProblem(res, 400, 'validation_failed');
    expect(Array.isArray(body.errors)).toBe(true);
    for (const e of body.errors) {
      expect(typeof e.path).toBe('string');
      expect(typeof e.message).toBe('string');
      expect(e.message.length).toBeGreaterThan(0);
    }
    expect([...new Set(body.errors.map((e: { path: string }) => e.path))].sort()).toEqual([...paths].sort());
    return body.errors;
  }

  const cases: [string, Record<string, unknown>, string[]][] = [
    ['an empty body: every required field', {}, ['key', 'owner', 'services', 'variants', 'exposure']],
    [
      'required fields missing from an otherwise fine body',
      (({ key: _k, exposure: _e, ...rest }) => rest)(valid()),
      ['key', 'exposure'],
    ],
    ['an unknown (misspelt) field', { ...valid(), layr: 'checkout' }, ['layr']],
    ['two unknown fields, each listed', { ...valid(), layr: 'checkout', data_acess: ['clickstream'] }, ['layr', 'data_acess']],
    ['an unknown field in a nested object', { ...valid(), services: [{ service: 'web', flag: 'f', flg: 'g' }] }, ['services.0.flg']],
    [
      'a duplicate (service, flag)',
      { ...valid(), services: [{ service: 'web', flag: 'f' }, { service: 'search', flag: 'f' }, { service: 'web', flag: 'f' }] },
      ['services.2'],
    ],
    ['no services', { ...valid(), services: [] }, ['services']],
    [
      'duplicate variant keys',
      { ...valid(), variants: [{ key: 'a', weight: 1, value: 1 }, { key: 'a', weight: 1, value: 2 }] },
      ['variants.1.key'],
    ],
    ['a single variant', { ...valid(), variants: [{ key: 'only', weight: 100, value: true }] }, ['variants']],
    [
      'weights that are all zero',
      { ...valid(), variants: [{ key: 'a', weight: 0, value: 1 }, { key: 'b', weight: 0, value: 2 }] },
      ['variants'],
    ],
    [
      'a negative and a fractional weight',
      { ...valid(), variants: [{ key: 'a', weight: -1, value: 1 }, { key: 'b', weight: 1.5, value: 2 }, { key: 'c', weight: 10, value: 3 }] },
      ['variants.0.weight', 'variants.1.weight'],
    ],
    ['exposure 0', { ...valid(), exposure: 0 }, ['exposure']],
    ['exposure 100.5', { ...valid(), exposure: 100.5 }, ['exposure']],
    ['exposure with three decimals (4.555)', { ...valid(), exposure: 4.555 }, ['exposure']],
    ['exposure as a string', { ...valid(), exposure: '4.5' }, ['exposure']],
    ['an unknown audience op', { ...valid(), audience: [{ attribute: 'locale', op: 'like', value: 'en' }] }, ['audience.0.op']],
    ['op in without values', { ...valid(), audience: [{ attribute: 'locale', op: 'in' }] }, ['audience.0.values']],
    // Conditions the evaluator cannot compile: stored, every flag built from them would be a PARSE_ERROR.
    ['op gt with a boolean value', { ...valid(), audience: [{ attribute: 'beta', op: 'gt', value: true }] }, ['audience.0.value']],
    ['op starts_with with a number', { ...valid(), audience: [{ attribute: 'zip', op: 'starts_with', value: 75 }] }, ['audience.0.value']],
    ['op in over mixed types', { ...valid(), audience: [{ attribute: 'tier', op: 'in', values: ['gold', 1] }] }, ['audience.0.values']],
    ['op eq with values instead of value', { ...valid(), audience: [{ attribute: 'locale', op: 'eq', values: ['en'] }] }, ['audience.0.value', 'audience.0.values']],
    [
      'an override for a service the intent does not drive',
      {
        ...valid(),
        variants: [
          { key: 'control', weight: 50, value: 'off' },
          { key: 'treatment', weight: 50, value: 'on', overrides: { payments: 'v2' } },
        ],
      },
      ['variants.1.overrides.payments'],
    ],
    ['a schedule start that is not a timestamp', { ...valid(), schedule: { start: 'next monday', end: '2026-12-31T00:00:00Z' } }, ['schedule.start']],
    ['a schedule end that is not a real date', { ...valid(), schedule: { end: '2026-13-45T00:00:00Z' } }, ['schedule.end']],
    ['a layer that is not a name', { ...valid(), layer: 'Checkout Layer' }, ['layer']],
    [
      'many bad fields at once: all of them listed',
      { ...valid(), exposure: 0, variants: [{ key: 'a', weight: 1, value: 1 }], audience: [{ attribute: 'x', op: 'nope', value: 1 }], layr: 'x' },
      ['exposure', 'variants', 'audience.0.op', 'layr'],
    ],
  ];

  describe('POST /v1/intents', () => {
    it.each(cases)('refuses %s', async (_name, body, paths) => {
      const res = await unchanged(() => alice.post('/v1/intents', body));
      expectFields(res, paths);
    });

    it('refuses a body that is not an object', async () => {
      for (const body of [[], 'just a string', 42, null]) {
        const res = await unchanged(() => alice.post('/v1/intents', JSON.stringify(body)));
        expect(res.status, res.text).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(['validation_failed', 'malformed_body']).toContain(res.body.code);
      }
    });

    it('names the misspelt field and what is wrong with it', async () => {
      const [e] = expectFields(await unchanged(() => alice.post('/v1/intents', { ...valid(), layr: 'checkout' })), ['layr']);
      expect(e!.message).toMatch(/unrecognized|unknown/i);
    });
  });

  describe('the request itself', () => {
    it('refuses invalid JSON with malformed_body', async () => {
      const res = await unchanged(() => alice.post('/v1/intents', '{"key": "broken",'));
      expectProblem(res, 400, 'malformed_body');
    });

    it('refuses a body that is not JSON with 415', async () => {
      const res = await unchanged(() => alice.post('/v1/intents', JSON.stringify(valid()), { 'content-type': 'text/plain' }));
      expectProblem(res, 415, 'unsupported_media_type');
      const form = await unchanged(() => alice.post('/v1/intents', 'key=x&owner=growth', { 'content-type': 'application/x-www-form-urlencoded' }));
      expectProblem(form, 415, 'unsupported_media_type');
    });

    it('refuses a body over 256kb with 413', async () => {
      const body = JSON.stringify({ ...valid(), description: 'x'.repeat(300 * 1024) });
      const res = await unchanged(() => alice.post('/v1/intents', body));
      expectProblem(res, 413, 'payload_too_large');
    });

    it('accepts a valid body (the cases above fail for their own reason)', async () => {
      const res = await alice.post('/v1/intents', valid());
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('approved');
    });
  });

  describe('PUT /v1/intents/{key}', () => {
    it('refuses a body whose key differs from the path', async () => {
      const res = await unchanged(() => alice.put('/v1/intents/existing', simpleIntent('something-else')));
      expectFields(res, ['key']);
      expect((await alice.get('/v1/intents/existing')).body.version).toBe(1);
    });

    it.each(cases.filter(([, body]) => 'key' in body))('refuses %s', async (_name, body, paths) => {
      const res = await unchanged(() => alice.put('/v1/intents/existing', { ...body, key: 'existing' }));
      expectFields(res, paths);
    });

    it('refuses invalid JSON and non-JSON bodies', async () => {
      expectProblem(await unchanged(() => alice.put('/v1/intents/existing', '{')), 400, 'malformed_body');
      expectProblem(
        await unchanged(() => alice.put('/v1/intents/existing', JSON.stringify(simpleIntent('existing')), { 'content-type': 'text/plain' })),
        415,
        'unsupported_media_type',
      );
    });
  });

  describe('POST /v1/intents:evaluate', () => {
    it('validates the same way', async () => {
      const res = await unchanged(() => alice.post('/v1/intents:evaluate', { ...valid(), layr: 'checkout', exposure: 0 }));
      expectFields(res, ['layr', 'exposure']);
    });
  });
});
