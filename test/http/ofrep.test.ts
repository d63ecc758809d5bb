import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature, type Client, type EvaluationDetails, type JsonValue } from '@openfeature/server-sdk';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileDocument, type CompiledDocument } from '../../src/evaluation/index.js';
import type { EvaluationContext, FlagsDocument } from '../../src/evaluation/types.js';
import { expectProblem } from '../fixtures/http.js';
import { simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { EvaluationRequest, plainEvaluationRequest } from '../../src/http/ofrep-router.js';

const OFREP = (service: string) => `/v1/services/${service}/ofrep/v1/evaluate/flags`;

/** The stock OFREP provider, pointed at one service the way a service would configure it. */
async function ofrepClient(base: string, service: string, token: string, domain: string): Promise<Client> {
  const provider = new OFREPProvider({ baseUrl: `${base}/v1/services/${service}`, headers: [['Authorization', `Bearer ${token}`]] });
  await OpenFeature.setProviderAndWait(domain, provider);
  return OpenFeature.getClient(domain);
}

/** Evaluates through the typed OpenFeature call that matches the flag's values. */
function details(client: Client, key: string, sample: unknown, ctx: EvaluationContext): Promise<EvaluationDetails<JsonValue>> {
  const c = ctx as Parameters<Client['getBooleanDetails']>[2];
  if (typeof sample === 'boolean') return client.getBooleanDetails(key, false, c);
  if (typeof sample === 'number') return client.getNumberDetails(key, -1, c);
  if (typeof sample === 'string') return client.getStringDetails(key, '<code default>', c);
  return client.getObjectDetails(key, {}, c);
}

describe('OFREP', () => {
  let s: TestServer;
  let owner: Api;
  let webToken: string;
  let doc: FlagsDocument;
  let local: CompiledDocument;

  const refresh = async () => {
    doc = (await owner.get('/v1/services/web/flags')).body as FlagsDocument;
    local = compileDocument(doc);
  };

  beforeAll(async () => {
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    const intents = [
      simpleIntent('of-bool', {
        variants: [
          { key: 'control', weight: 1, value: false },
          { key: 'treatment', weight: 1, value: true },
        ],
        audience: [{ attribute: 'locale', op: 'in', values: ['en-US', 'en-GB'] }],
        exposure: 50,
      }),
      simpleIntent('of-str', { exposure: 50 }),
      simpleIntent('of-num', {
        variants: [
          { key: 'low', weight: 1, value: 1 },
          { key: 'high', weight: 3, value: 2.5 },
        ],
        layer: 'of',
        exposure: 40,
      }),
      simpleIntent('of-obj', {
        variants: [
          { key: 'a', weight: 1, value: { layout: 'grid' } },
          { key: 'b', weight: 1, value: { layout: 'list' } },
        ],
        unit: 'account_id',
        exposure: 50,
      }),
      simpleIntent('of-paused', { exposure: 50 }),
    ];
    for (const intent of intents) {
      const res = await owner.post('/v1/intents', intent);
      expect(res.body?.status, res.text).toBe('approved');
    }
    expect((await owner.post('/v1/intents/of-paused/actions', { action: 'pause', reason: 'x' })).status).toBe(200);
    webToken = (await s.token({ name: 'web-svc', role: 'service', service: 'web' })).secret;
    await refresh();
  });
  afterAll(async () => {
    await OpenFeature.close();
    await s.close();
  });

  describe('through the stock @openfeature/ofrep-provider', () => {
    it('serves the values, variants and reasons of SPEC §6', async () => {
      const client = await ofrepClient(s.base, 'web', webToken, 'ofrep-values');
      const reasons = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const ctx: EvaluationContext = { targetingKey: `user-${i}`, account_id: `acct-${i % 17}` };
        if (i % 2 === 0) ctx['locale'] = 'en-GB';
        for (const [key, flag] of Object.entries(doc.flags)) {
          const ours = local.evaluate(key, ctx);
          if (ours.reason === 'ERROR') throw new Error(`unexpected ${ours.errorCode}`);
          const got = await details(client, key, Object.values(flag.variants)[0], ctx);
          expect({ value: got.value, variant: got.variant, reason: got.reason, errorCode: got.errorCode }, `${key} ${i}`).toEqual({
            value: ours.value,
            variant: ours.variant,
            // A paused flag (§6 reason DISABLED) is answered STATIC, so every stock provider serves its value.
            reason: ours.reason === 'DISABLED' ? 'STATIC' : ours.reason,
            errorCode: undefined,
          });
          const paused = ours.reason === 'DISABLED' ? { switchyard_state: 'DISABLED' } : {};
          expect(got.flagMetadata).toEqual({ experiment: flag.experiment.key, experiment_version: 1, flags_version: doc.version, ...paused });
          reasons.add(got.reason!);
        }
      }
      expect([...reasons].sort()).toEqual(['DEFAULT', 'SPLIT', 'STATIC']);
    });

    it('reports FLAG_NOT_FOUND, TARGETING_KEY_MISSING and INVALID_CONTEXT as OpenFeature errors, with the code default', async () => {
      const client = await ofrepClient(s.base, 'web', webToken, 'ofrep-errors');
      expect(await client.getBooleanDetails('no_such_flag', true, { targetingKey: 'u' })).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND', reason: 'ERROR' });
      expect(await client.getStringDetails('of_str_flag', 'dflt', {})).toMatchObject({ value: 'dflt', errorCode: 'TARGETING_KEY_MISSING', reason: 'ERROR' });
      expect(await client.getStringDetails('of_str_flag', 'dflt', { user_id: true })).toMatchObject({ value: 'dflt', errorCode: 'INVALID_CONTEXT' });
      // A paused flag needs no unit: everyone gets the default variant.
      expect(await client.getStringDetails('of_paused_flag', 'dflt', {})).toMatchObject({
        value: 'off',
        variant: 'control',
        reason: 'STATIC',
        flagMetadata: { switchyard_state: 'DISABLED' },
      });
      expect(await client.getNumberDetails('of_str_flag', 7, { targetingKey: 'u' })).toMatchObject({ value: 7, errorCode: 'TYPE_MISMATCH' });
    });

    it('reports an unknown service as FLAG_NOT_FOUND and a token of another service as an error', async () => {
      const nowhere = await ofrepClient(s.base, 'nope', (await s.token({ name: 'admin-ish', role: 'operator' })).secret, 'ofrep-nope');
      expect(await nowhere.getBooleanDetails('x', true, { targetingKey: 'u' })).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND' });
      const search = await s.token({ name: 'search-svc', role: 'service', service: 'search' });
      const wrong = await ofrepClient(s.base, 'web', search.secret, 'ofrep-wrong-service');
      expect(await wrong.getStringDetails('of_str_flag', 'dflt', { targetingKey: 'u' })).toMatchObject({ value: 'dflt', reason: 'ERROR', errorCode: 'GENERAL' });
    });
  });

  describe('single flag, raw', () => {
    it('answers 200 {key, value, reason, variant, metadata}', async () => {
      const web = await s.token({ name: 'web-raw', role: 'service', service: 'web' });
      const res = await web.post(`${OFREP('web')}/of_str_flag`, { context: { targetingKey: 'user-3' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const ours = local.evaluate('of_str_flag', { targetingKey: 'user-3' });
      expect(res.body).toEqual({
        key: 'of_str_flag',
        value: ours.value,
        reason: ours.reason,
        variant: ours.variant,
        metadata: { experiment: 'of-str', experiment_version: 1, flags_version: doc.version },
      });
    });

    it('answers evaluation errors with {key, errorCode, errorDetails} and the protocol status', async () => {
      const missing = await owner.post(`${OFREP('web')}/no_such_flag`, { context: { targetingKey: 'u' } });
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ key: 'no_such_flag', errorCode: 'FLAG_NOT_FOUND', errorDetails: expect.any(String) });
      const noKey = await owner.post(`${OFREP('web')}/of_str_flag`, { context: { locale: 'en-US' } });
      expect(noKey.status).toBe(400);
      expect(noKey.body).toEqual({ key: 'of_str_flag', errorCode: 'TARGETING_KEY_MISSING', errorDetails: expect.stringContaining('user_id') });
      const badUnit = await owner.post(`${OFREP('web')}/of_str_flag`, { context: { user_id: { id: 1 } } });
      expect(badUnit.status).toBe(400);
      expect(badUnit.body.errorCode).toBe('INVALID_CONTEXT');
      // No body at all is an empty context.
      const empty = await owner.request('POST', `${OFREP('web')}/of_paused_flag`);
      expect(empty.status).toBe(200);
      expect(empty.body).toMatchObject({ reason: 'STATIC', value: 'off', variant: 'control', metadata: { switchyard_state: 'DISABLED' } });
    });

    it('refuses a bad request as problem+json that also carries the OFREP failure fields', async () => {
      const notObject = await owner.post(`${OFREP('web')}/of_str_flag`, { context: ['u'] });
      expect(expectProblem(notObject, 400, 'validation_failed')).toMatchObject({ key: 'of_str_flag', errorCode: 'INVALID_CONTEXT' });
      const broken = await owner.request('POST', `${OFREP('web')}/of_str_flag`, '{"context": {', { 'content-type': 'application/json' });
      expect(expectProblem(broken, 400, 'malformed_body')).toMatchObject({ key: 'of_str_flag', errorCode: 'PARSE_ERROR' });
      const unknown = await owner.post(`${OFREP('nope')}/of_str_flag`, { context: { targetingKey: 'u' } });
      expect(expectProblem(unknown, 404, 'service_not_found')).toMatchObject({ key: 'of_str_flag', errorCode: 'FLAG_NOT_FOUND' });
      const search = await s.token({ name: 'search-raw', role: 'service', service: 'search' });
      expectProblem(await search.post(`${OFREP('web')}/of_str_flag`, { context: {} }), 403, 'forbidden_service');
      const anonymous = await fetch(`${s.base}${OFREP('web')}/of_str_flag`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(anonymous.status).toBe(401);
    });
  });

  describe('bulk', () => {
    it('answers {flags: [...]} with every flag, per-flag errors inside, sorted by key', async () => {
      const res = await owner.post(OFREP('web'), { context: { locale: 'en-US' } });
      expect(res.status).toBe(200);
      const keys = Object.keys(doc.flags).sort();
      expect(res.body.flags.map((f: { key: string }) => f.key)).toEqual(keys);
      for (const f of res.body.flags) {
        if (f.key === 'of_paused_flag') expect(f).toMatchObject({ value: 'off', variant: 'control', reason: 'STATIC', metadata: { switchyard_state: 'DISABLED' } });
        else expect(f).toEqual({ key: f.key, errorCode: 'TARGETING_KEY_MISSING', errorDetails: expect.any(String) });
      }
      const ok = await owner.post(OFREP('web'), { context: { targetingKey: 'user-9', account_id: 'a-9', locale: 'en-US' } });
      const all = local.evaluateAll({ targetingKey: 'user-9', account_id: 'a-9', locale: 'en-US' });
      expect(ok.body.flags).toEqual(
        keys.map((key) => {
          const paused = all[key]!.reason === 'DISABLED';
          return {
            key,
            value: all[key]!.value,
            reason: paused ? 'STATIC' : all[key]!.reason,
            variant: all[key]!.variant,
            metadata: { experiment: doc.flags[key]!.experiment.key, experiment_version: 1, flags_version: doc.version, ...(paused ? { switchyard_state: 'DISABLED' } : {}) },
          };
        }),
      );
    });

    it('answers 304 while neither the flags nor the context change (whatever the context key order)', async () => {
      const first = await owner.post(OFREP('web'), { context: { targetingKey: 'user-1', locale: 'en-GB', account_id: 'a' } });
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]+"$/);
      const same = await owner.post(OFREP('web'), { context: { account_id: 'a', locale: 'en-GB', targetingKey: 'user-1' } }, { 'if-none-match': etag });
      expect(same.status).toBe(304);
      expect(same.headers.get('etag')).toBe(etag);
      expect(same.text).toBe('');

      const otherUser = await owner.post(OFREP('web'), { context: { targetingKey: 'user-2', locale: 'en-GB', account_id: 'a' } }, { 'if-none-match': etag });
      expect(otherUser.status).toBe(200);
      expect(otherUser.headers.get('etag')).not.toBe(etag);

      expect((await owner.post('/v1/intents/of-str/actions', { action: 'pause', reason: 'x' })).status).toBe(200);
      await refresh();
      const changed = await owner.post(OFREP('web'), { context: { targetingKey: 'user-1', locale: 'en-GB', account_id: 'a' } }, { 'if-none-match': etag });
      expect(changed.status).toBe(200);
      expect(changed.headers.get('etag')).not.toBe(etag);
      expect(changed.body.flags.find((f: { key: string }) => f.key === 'of_str_flag')).toMatchObject({ reason: 'STATIC', value: 'off', metadata: { switchyard_state: 'DISABLED' } });
    });

    it('refuses a context that is not an object with the bulk failure shape', async () => {
      const res = await owner.post(OFREP('web'), { context: 'user-1' });
      expect(expectProblem(res, 400, 'validation_failed')).toMatchObject({ errorCode: 'INVALID_CONTEXT', errorDetails: expect.any(String) });
      expect(res.body.key).toBeUndefined();
      const empty = await owner.post(OFREP('payments'), { context: {} });
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ flags: [], eventStreams: [{ type: 'sse', endpoint: { requestUri: expect.stringMatching(/^\/v1\/services\/payments\/ofrep\/events\?ticket=/) } }] });
    });
  });
});

describe('the OFREP request check without zod', () => {
  it('accepts only what the EvaluationRequest schema accepts', () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ context: fc.jsonValue() }, { requiredKeys: [] }),
      fc.record({ context: fc.dictionary(fc.string(), fc.jsonValue()), extra: fc.jsonValue() }, { requiredKeys: ['context'] }),
    );
    let plain = 0;
    fc.assert(
      fc.property(body, (b) => {
        const parsed = JSON.parse(JSON.stringify(b)) as unknown;
        if (plainEvaluationRequest(parsed)) {
          plain++;
          expect(EvaluationRequest.safeParse(parsed).success).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    // The property means something only if both outcomes occurred.
    expect(plain).toBeGreaterThan(100);
    expect(plain).toBeLessThan(2000);
  });
});
