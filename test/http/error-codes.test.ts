import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { compileFlag } from '../../src/evaluation/index.js';
import { openSse, type SseConnection } from '../fixtures/sse-client.js';
import { apiFor, exampleIntent, simpleIntent, startServer, type Api, type ApiResponse, type TestServer } from '../helpers/harness.js';
import { buildLoopingBundle, LOOPS_ALWAYS } from '../helpers/looping-bundle.js';
import { ROOT } from '../helpers/paths.js';
import { createTestDatabase, startPostgresCluster } from '../helpers/postgres.js';

/** The error table of docs/errors.md: `| \`code\`, \`code\` | status | when |`, in its "## Error codes" section. */
function documentedCodes(): Map<string, number> {
  const page = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const start = page.indexOf('\n## Error codes\n');
  expect(start, 'docs/errors.md has a "## Error codes" section').toBeGreaterThanOrEqual(0);
  const end = page.indexOf('\n## ', start + 1);
  const section = page.slice(start, end === -1 ? undefined : end);
  const out = new Map<string, number>();
  for (const line of section.split('\n')) {
    const m = /^\| ((?:`[a-z_]+`(?:, )?)+) \| (\d{3}) \|/.exec(line);
    if (!m) continue;
    for (const code of m[1]!.matchAll(/`([a-z_]+)`/g)) out.set(code[1]!, Number(m[2]));
  }
  return out;
}

describe('error codes', () => {
  it('docs/errors.md lists exactly the codes the code can throw, with their status', () => {
    expect(Object.fromEntries(documentedCodes())).toEqual(ERROR_CODES);
  });

  describe('each is reachable, as problem+json with its status', () => {
    let s: TestServer;
    let owner: Api & { secret: string };
    let otherTeam: Api;
    let sre: Api;
    let privacy: Api;
    let web: Api;
    const expectProblem = (res: ApiResponse, code: ErrorCode) => {
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code, status: ERROR_CODES[code], type: `urn:switchyard:problem:${code}` });
      expect(res.status).toBe(ERROR_CODES[code]);
    };

    beforeAll(async () => {
      // A short check deadline so policy_timeout (a looping bundle's dry run) is reached quickly.
      s = await startServer({ policyTimeouts: { decisionMs: 1000, checkMs: 2000 } });
      owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
      otherTeam = await s.token({ name: 'carol', role: 'owner', team: 'crm' });
      sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
      privacy = await s.token({ name: 'pia', role: 'approver', approval_roles: ['privacy'] });
      web = await s.token({ name: 'web', role: 'service', service: 'web' });
      await owner.post('/v1/intents', exampleIntent());
      await owner.post('/v1/intents', simpleIntent('done-test'));
      await owner.post('/v1/intents/done-test/actions', { action: 'complete', reason: 'finished' });
    });
    afterAll(async () => {
      await s.close();
    });

    /** A server with small stream caps (one per token, two in all), closed after `run`. */
    const withCappedServer = async (run: (open: (token: string) => Promise<ApiResponse>, own: TestServer) => Promise<ApiResponse>): Promise<ApiResponse> => {
      const own = await startServer({ app: { limits: { maxStreamsPerToken: 1, maxStreams: 2 } } });
      const mine: SseConnection[] = [];
      try {
        return await run(async (token) => {
          const c = await openSse(`${own.base}/v1/services/web/flags/stream`, { authorization: `Bearer ${token}` });
          mine.push(c);
          return { status: c.status, headers: c.headers, body: c.text ? JSON.parse(c.text) : undefined, text: c.text };
        }, own);
      } finally {
        for (const c of mine) c.close();
        await own.close();
      }
    };

    const cases: [ErrorCode, () => Promise<ApiResponse>][] = [
      ['validation_failed', () => owner.post('/v1/intents', { key: 'x' })],
      ['malformed_body', () => owner.post('/v1/intents', '{"key":', { 'content-type': 'application/json' })],
      ['policy_invalid', () => s.api.put('/v1/policy', Buffer.from('nope'), { 'content-type': 'application/gzip' })],
      ['policy_timeout', () => s.api.put('/v1/policy?dry_run=true', buildLoopingBundle(LOOPS_ALWAYS, 'loops'), { 'content-type': 'application/gzip' })],
      ['unauthorized', () => apiFor(() => s.base, 'sy_wrong').get('/v1/intents')],
      ['forbidden', () => web.get('/v1/intents')],
      ['forbidden_team', () => otherTeam.post('/v1/intents/checkout-redesign/actions', { action: 'pause', reason: 'x' })],
      ['forbidden_service', () => web.get('/v1/services/search/flags')],
      ['self_approval', () => s.api.post('/v1/intents', simpleIntent('self-test', { services: [{ service: 'payments', flag: 'p' }], exposure: 1 })).then(() => s.api.post('/v1/intents/self-test/approvals', {}))],
      ['approval_role_mismatch', () => privacy.post('/v1/intents/checkout-redesign/approvals', {})],
      ['intent_not_found', () => owner.get('/v1/intents/no-such-intent')],
      ['decision_not_found', () => owner.get('/v1/decisions/d_nothing')],
      ['token_not_found', () => s.api.del('/v1/tokens/tok_nothing')],
      ['service_not_found', () => owner.get('/v1/services/no-such-service/flags')],
      ['route_not_found', () => owner.get('/v1/nowhere')],
      ['intent_exists', () => owner.post('/v1/intents', exampleIntent())],
      ['experiment_completed', () => owner.put('/v1/intents/done-test', simpleIntent('done-test'))],
      ['not_pending_approval', () => sre.post('/v1/intents/done-test/approvals', {})],
      ['already_approved', async () => {
        await owner.post('/v1/intents', exampleIntent({ key: 'twice-test', services: [{ service: 'checkout-api', flag: 'twice' }], data_access: ['purchase_history'], layer: undefined }));
        await sre.post('/v1/intents/twice-test/approvals', {});
        return sre.post('/v1/intents/twice-test/approvals', {});
      }],
      ['version_changed', async () => {
        await owner.post('/v1/intents', exampleIntent({ key: 'pin-test', services: [{ service: 'checkout-api', flag: 'pin' }], data_access: ['purchase_history'], layer: undefined }));
        await owner.put('/v1/intents/pin-test', exampleIntent({ key: 'pin-test', services: [{ service: 'checkout-api', flag: 'pin' }], data_access: ['purchase_history'], layer: undefined, exposure: 5 }));
        return sre.post('/v1/intents/pin-test/approvals', { version: 1 });
      }],
      ['invalid_transition', () => owner.post('/v1/intents/checkout-redesign/actions', { action: 'pause', reason: 'not running' })],
      ['hold_not_elapsed', async () => {
        await owner.post('/v1/intents', simpleIntent('hold-test', { rollout: { stages: [{ exposure: 1, hold: 'PT1H' }, { exposure: 10 }] } }));
        return owner.post('/v1/intents/hold-test/actions', { action: 'advance' });
      }],
      ['guardrail_regressed', async () => {
        // Real telemetry: the service reports only units placed in control, a sample-ratio mismatch.
        await owner.post('/v1/intents', simpleIntent('reg-test', { rollout: { stages: [{ exposure: 1 }, { exposure: 10 }] } }));
        const web = await s.token({ name: 'web-reg', role: 'service', service: 'web' });
        const doc = (await web.get('/v1/services/web/flags')).body;
        const flag = compileFlag('reg_test_flag', doc.flags['reg_test_flag']);
        const events = [];
        for (let i = 0; events.length < 400; i++) {
          if (flag.place(`u-${i}`) === 'control') events.push({ type: 'exposure', flag: 'reg_test_flag', unit: `u-${i}`, variant: 'control' });
        }
        expect((await web.post('/v1/services/web/telemetry', { events })).body).toMatchObject({ accepted: 400, rejected: [] });
        return owner.post('/v1/intents/reg-test/actions', { action: 'advance' });
      }],
      ['flag_conflict', async () => {
        // v1 runs, v2 (other flag) replaces it, another experiment takes v1's flag, rollback cannot return
        await owner.post('/v1/intents', simpleIntent('roll-test', { services: [{ service: 'search', flag: 'first' }] }));
        await owner.put('/v1/intents/roll-test', simpleIntent('roll-test', { services: [{ service: 'search', flag: 'second' }] }));
        await owner.post('/v1/intents', simpleIntent('taker-test', { services: [{ service: 'search', flag: 'first' }] }));
        return owner.post('/v1/intents/roll-test/actions', { action: 'rollback', reason: 'bad v2' });
      }],
      ['layer_capacity', async () => {
        await owner.post('/v1/intents', simpleIntent('lay-test', { services: [{ service: 'recommendations', flag: 'l1' }], layer: 'recs', exposure: 60 }));
        await owner.put('/v1/intents/lay-test', simpleIntent('lay-test', { services: [{ service: 'recommendations', flag: 'l1' }], layer: 'recs', exposure: 10 }));
        await owner.post('/v1/intents', simpleIntent('lay-taker', { services: [{ service: 'recommendations', flag: 'l2' }], layer: 'recs', exposure: 90 }));
        return owner.post('/v1/intents/lay-test/actions', { action: 'rollback', reason: 'bad v2' });
      }],
      ['document_too_large', () =>
        // A 170 KB body whose 20 values of 8 KB each land in 50 flags of one service: 8 MB of document.
        owner.post('/v1/intents', simpleIntent('big-doc', {
          services: Array.from({ length: 50 }, (_, i) => ({ service: 'email-service', flag: `f${i}` })),
          variants: Array.from({ length: 20 }, (_, i) => ({ key: `v${i}`, weight: 1, value: 'x'.repeat(8000) })),
        }))],
      ['payload_too_large', () => owner.post('/v1/intents', { ...simpleIntent('big'), description: 'x'.repeat(300_000) })],
      ['unsupported_media_type', () => owner.post('/v1/intents', 'key=x', { 'content-type': 'application/x-www-form-urlencoded' })],
      ['policy_unavailable', async () => {
        // A server whose bundle does not load has no catalog: GET /v1/services cannot answer.
        const garbage = path.join(s.dir, 'garbage.tar.gz');
        fs.writeFileSync(garbage, 'not a bundle');
        const bare = await startServer({ bundlePath: garbage });
        try {
          return await bare.api.get('/v1/services');
        } finally {
          await bare.close();
        }
      }],
      ['idempotency_key_reused', async () => {
        await owner.post('/v1/intents:evaluate', simpleIntent('idem-a'), { 'idempotency-key': 'same' });
        return owner.post('/v1/intents:evaluate', simpleIntent('idem-b'), { 'idempotency-key': 'same' });
      }],
      // The stream caps count every open stream: each case gets a server of its own, so neither
      // depends on which streams another case left open (or on the order the cases run in).
      ['too_many_streams', () =>
        withCappedServer(async (t, own) => {
          const one = await own.token({ name: 'web', role: 'service', service: 'web' });
          expect((await t(one.secret)).status).toBe(200);
          return t(one.secret);
        })],
      // An OFREP re-fetch naming a flags version newer than this server has (docs/flagd.md).
      ['flag_config_stale', () => web.post(`/v1/services/web/ofrep/v1/evaluate/flags?flagConfigEtag=%22unseen%22&flagConfigLastModified=${Math.floor(s.clock.now().getTime() / 1000) + 60}`, {})],
      // PostgreSQL gone (SPEC §11): a cluster of this case's own, stopped under a running server.
      ['store_unavailable', async () => {
        const cluster = await startPostgresCluster();
        try {
          const own = await startServer({ databaseUrl: (await createTestDatabase(cluster.adminUrl, 'codes')).url });
          try {
            await cluster.halt();
            return await own.api.post('/v1/tokens', { name: 'during-outage', role: 'operator' });
          } finally {
            await own.close();
          }
        } finally {
          await cluster.stop();
        }
      }],
      ['server_busy', () =>
        withCappedServer(async (t, own) => {
          for (const name of ['a', 'b']) expect((await t((await own.token({ name, role: 'owner', team: 'growth' })).secret)).status).toBe(200);
          return t((await own.token({ name: 'c', role: 'owner', team: 'growth' })).secret);
        })],
    ];

    for (const [code, trigger] of cases) {
      it(code, async () => {
        expectProblem(await trigger(), code);
      });
    }

    // From the table, not from what earlier tests happened to record: this holds whatever runs first.
    it('covers every code but the two that need a failing process (internal_error: a bug; shutting_down: SIGTERM, see stream tests)', () => {
      const listed = new Set(cases.map(([code]) => code as string));
      const untestedHere = Object.keys(ERROR_CODES).filter((c) => !listed.has(c));
      expect(untestedHere.sort()).toEqual(['internal_error', 'shutting_down']);
    });
  });
});
