import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN as ADMIN, simpleIntent, startServer, type Api, type TestServer } from '../helpers/harness.js';
import { ROOT } from '../helpers/paths.js';
import { cli, ensureCliBuilt, tempDir, type CliResult } from './cli-process.js';

const example = (name: string) => path.join(ROOT, 'docs/examples', name);
/** The SPEC §2 example with its fixed schedule (the shipped docs/examples copy has none): approval schedules it. */
const SPEC_EXAMPLE_FILE = path.join(ROOT, 'test/fixtures/spec-example.json');

/** The exit code with the output, so a failing assertion shows what the CLI said. */
const outcome = (r: CliResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

describe('switchyard CLI (the built binary) against a real server', () => {
  let s: TestServer;
  let owner: Api & { secret: string };
  let sre: Api & { secret: string };
  let operator: Api & { secret: string };
  let web: Api & { secret: string };
  let files: string;
  /** A loopback URL where nothing listens. */
  let dead: string;

  /** Runs the CLI with the server's URL and a token in the environment. */
  const sy = (args: string[], token: string | undefined, env: Record<string, string | undefined> = {}) =>
    cli(args, { env: { SWITCHYARD_URL: s.base, SWITCHYARD_TOKEN: token, ...env } });
  const json = (r: CliResult) => JSON.parse(r.stdout) as any;

  beforeAll(async () => {
    await ensureCliBuilt();
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    sre = await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] });
    operator = await s.token({ name: 'olga', role: 'operator' });
    web = await s.token({ name: 'web-prod', role: 'service', service: 'web' });
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    dead = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((r) => probe.close(r));
    files = tempDir({
      'age-gate.yaml': YAML.stringify(
        simpleIntent('age-gate', {
          description: 'Adults only',
          exposure: 50,
          audience: [{ attribute: 'age', op: 'gte', value: 18 }],
        }),
      ),
      'broken.json': '{"key": "x",',
      'incomplete.json': JSON.stringify({ key: 'incomplete', owner: 'growth', services: [] }),
      'context.yaml': 'country: US\nuser_id: from-file\n',
    });
  }, 180_000);
  afterAll(async () => {
    await s?.close();
    if (files) fs.rmSync(files, { recursive: true, force: true });
  });

  describe('intent submit and evaluate', () => {
    it('submit: an approved intent is exit 0 and says it is running', async () => {
      const r = await sy(['intent', 'submit', '-f', example('search-ranking.json')], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toContain('✓ search-ranking v1: approved; state running');
      expect(r.stdout).toContain('audit: standard, kept 90 days');
      expect((await s.api.get('/v1/intents/search-ranking')).body.state).toBe('running');
    });

    it('submit: a YAML file, and stdin with -f -', async () => {
      const fromFile = await sy(['intent', 'submit', '-f', path.join(files, 'age-gate.yaml')], owner.secret);
      expect(outcome(fromFile)).toMatchObject({ code: 0 });
      expect(fromFile.stdout).toContain('✓ age-gate v1: approved; state running');

      const stdin = await cli(['intent', 'submit', '-f', '-'], {
        env: { SWITCHYARD_URL: s.base, SWITCHYARD_TOKEN: owner.secret },
        stdin: YAML.stringify(simpleIntent('from-stdin')),
      });
      expect(outcome(stdin)).toMatchObject({ code: 0 });
      expect((await s.api.get('/v1/intents/from-stdin')).body.intent.key).toBe('from-stdin');
    });

    it('submit: a denied intent is exit 3, with every violation explained', async () => {
      const r = await sy(['intent', 'submit', '-f', example('denied.json')], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 3 });
      const lines = r.stdout.split('\n');
      expect(lines[0]).toBe('✗ Promo_Blast v1: denied, 3 violations; state draft');
      expect(lines).toContain(
        '  ✗ max_exposure (exposure): exposure 80% is above the 50% cap of standard service email-service [service email-service]',
      );
      expect(lines).toContain(
        '  ✗ data_access (data_access): data class contact_info is restricted to team(s) crm; owner team growth is not one of them [data class contact_info]',
      );
      expect(lines.some((l) => l.startsWith('  ✗ naming (naming): experiment key "Promo_Blast" is not a valid name'))).toBe(true);
      expect(lines).toContain('    audit: full, kept 400 days');
    });

    it('evaluate: a dry run explains the decision, exit 3 when denied, and stores nothing', async () => {
      const denied = { ...JSON.parse(fs.readFileSync(example('denied.json'), 'utf8')), key: 'promo-blast' };
      const file = path.join(files, 'promo-blast.json');
      fs.writeFileSync(file, JSON.stringify(denied));
      const r = await sy(['intent', 'evaluate', '-f', file], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 3 });
      expect(r.stdout).toContain('✗ promo-blast v1: would be denied, 2 violations (dry run: nothing was stored)');
      expect(r.stdout).toContain('[service email-service]');
      expect((await s.api.get('/v1/intents/promo-blast')).status).toBe(404);
    });

    it('evaluate: an allowed intent that owes approvals is exit 0 and names who must approve', async () => {
      const r = await sy(['intent', 'evaluate', '-f', example('checkout-redesign.json')], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 0 });
      expect(r.stdout).toContain('… checkout-redesign v1: would be allowed, pending approval (needs 1 approval by role sre)');
      expect(r.stdout).toContain('    needs 1 approval by role sre\n    audit: full, kept 400 days');
    });

    it('--json prints the server answer, parseable, with the same exit codes', async () => {
      const denied = await sy(['--json', 'intent', 'evaluate', '-f', example('denied.json')], owner.secret);
      expect(denied.code).toBe(3);
      expect(json(denied)).toMatchObject({ status: 'denied', decision: { allow: false } });
      expect(json(denied).decision.violations.map((v: any) => v.code).sort()).toEqual(['data_access', 'max_exposure', 'naming']);
      // the global option may also follow the command
      const pending = await sy(['intent', 'evaluate', '-f', example('checkout-redesign.json'), '--json'], owner.secret);
      expect(pending.code).toBe(0);
      expect(json(pending).decision.obligations.approvals).toEqual([{ role: 'sre', count: 1 }]);
    });

    it('a body the server refuses prints code: detail and every bad field; exit 2', async () => {
      const r = await sy(['intent', 'submit', '-f', path.join(files, 'incomplete.json')], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(/^validation_failed: The intent is not valid\n/);
      expect(r.stderr).toContain('  services: ');
      expect(r.stderr).toContain('  variants: ');
      expect(r.stderr).toContain('  exposure: ');
      const again = await sy(['--json', 'intent', 'submit', '-f', example('search-ranking.json')], owner.secret);
      expect(again.code).toBe(2);
      expect(json(again)).toMatchObject({ code: 'intent_exists', status: 409 });
    });
  });

  describe('approvals, reading, lifecycle', () => {
    beforeAll(async () => {
      const r = await sy(['intent', 'submit', '-f', SPEC_EXAMPLE_FILE], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 0 });
      expect(r.stdout).toContain('… checkout-redesign v1: pending approval (needs 1 approval by role sre); state draft');
    });

    it('approve: the submitter cannot (exit 4), the sre approver can (exit 0)', async () => {
      const self = await sy(['approve', 'checkout-redesign'], owner.secret);
      expect(outcome(self)).toMatchObject({ code: 4, stdout: '' });
      expect(self.stderr).toMatch(/^forbidden: /);
      const ok = await sy(['approve', 'checkout-redesign', '--comment', 'capacity ok'], sre.secret);
      expect(outcome(ok)).toMatchObject({ code: 0 });
      expect(ok.stdout).toContain('✓ checkout-redesign v1: approved; state scheduled');
      expect(ok.stdout).toContain('sam (sre)');
      const twice = await sy(['approve', 'checkout-redesign'], sre.secret);
      expect(twice.code).toBe(2);
      expect(twice.stderr).toMatch(/^not_pending_approval: /);
    });

    it('approve prints the version it read and pins it: a version submitted in between is refused (exit 2), not approved', async () => {
      // checkout-api is critical: one sre approval owed. v2 raises the exposure and adds a flag.
      const v1 = simpleIntent('pin-race', { services: [{ service: 'checkout-api', flag: 'pin_race' }], exposure: 1 });
      const v2 = { ...v1, exposure: 5, services: [...v1.services, { service: 'web', flag: 'pin_race_extra' }] };
      expect((await owner.post('/v1/intents', v1)).body.status).toBe('pending_approval');
      // A proxy in front of the server that lets the owner submit v2 right after the CLI has read v1.
      let putDone = false;
      let proxyError: unknown;
      const proxy = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        const forward = async () => {
          const headers: Record<string, string> = {};
          for (const h of ['authorization', 'content-type', 'if-match']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
          const up = await fetch(s.base + req.url, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
          const text = await up.text();
          if (req.method === 'GET' && req.url === '/v1/intents/pin-race' && !putDone) {
            putDone = true;
            expect((await owner.put('/v1/intents/pin-race', v2)).body.intent.version).toBe(2);
          }
          const out: Record<string, string> = { 'content-type': up.headers.get('content-type') ?? 'application/json' };
          if (up.headers.get('etag')) out['etag'] = up.headers.get('etag')!;
          res.writeHead(up.status, out).end(text);
        };
        // A failure in forward (the in-between PUT included) fails the test below, not an unhandled rejection.
        req.on('end', () => {
          forward().catch((err: unknown) => {
            proxyError ??= err;
            res.writeHead(502).end();
          });
        });
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
        const raced = await sy(['--url', url, 'approve', 'pin-race', '--comment', 'read v1'], sre.secret);
        if (proxyError) throw proxyError;
        expect(putDone).toBe(true);
        expect(outcome(raced)).toMatchObject({ code: 2, stdout: '' });
        expect(raced.stderr).toMatch(/^error: pin-race changed: you were approving version 1, but version 2 is current now\. Nothing was approved \(version_changed\)\.\n/);
        expect(raced.stderr).toContain('switchyard approve pin-race --pin-version 2');
      } finally {
        await new Promise((r) => proxy.close(r));
      }
      expect((await s.api.get('/v1/intents/pin-race')).body).toMatchObject({ version: 2, status: 'pending_approval', approvals: [] });

      // --pin-version names a version read elsewhere: a stale one is refused the same way (--json: the problem).
      const stale = await sy(['--json', 'approve', 'pin-race', '--pin-version', '1'], sre.secret);
      expect(stale.code).toBe(2);
      expect(json(stale)).toMatchObject({ code: 'version_changed', status: 409, current_version: 2, requested_version: 1 });

      // Without a race, it prints what it approved.
      const ok = await sy(['approve', 'pin-race'], sre.secret);
      expect(outcome(ok)).toMatchObject({ code: 0, stderr: '' });
      expect(ok.stdout).toMatch(/^approving pin-race v2 as read \(team growth, submitted by alice at [^)]+\):\n  services: +checkout-api\/pin_race, web\/pin_race_extra\n  exposure: +5%\n/);
      expect(ok.stdout).toContain('✓ pin-race v2: approved');
      expect((await s.api.get('/v1/intents/pin-race')).body).toMatchObject({ version: 2, status: 'approved', approvals: [{ actor: 'sam' }] });
    });

    it('intent get shows the version, decision, who approved, and the versions', async () => {
      const r = await sy(['intent', 'get', 'checkout-redesign'], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 0 });
      expect(r.stdout).toContain('checkout-redesign (team growth): version 1 approved, state scheduled, active version 1');
      expect(r.stdout).toContain('needs 1 approval by role sre: given by sam');
      expect(r.stdout).toContain('schedule:    2026-12-01T00:00:00Z → 2026-12-31T00:00:00Z');
      expect(r.stdout).toMatch(/versions:\n\s+VERSION\s+STATUS\s+SUBMITTED BY/);
      const missing = await sy(['intent', 'get', 'no-such-intent'], owner.secret);
      expect(outcome(missing)).toMatchObject({ code: 2 });
      expect(missing.stderr).toBe('intent_not_found: No intent with key no-such-intent\n');
    });

    it('intent list filters by state and owner; --json is the page', async () => {
      const running = await sy(['intent', 'list', '--state', 'running'], owner.secret);
      expect(outcome(running)).toMatchObject({ code: 0 });
      expect(running.stdout.split('\n')[0]).toMatch(/^KEY\s+OWNER\s+VERSION\s+STATUS\s+STATE\s+EXPOSURE\s+LAYER\s+SERVICES$/);
      expect(running.stdout).toMatch(/search-ranking\s+growth\s+1\s+approved\s+running\s+20%\s+search/);
      expect(running.stdout).not.toContain('checkout-redesign');
      const page = await sy(['--json', 'intent', 'list', '--owner', 'growth', '--limit', '2'], owner.secret);
      expect(json(page).items).toHaveLength(2);
      expect(json(page).next_cursor).toEqual(expect.any(String));
      const text = await sy(['intent', 'list', '--limit', '2'], owner.secret);
      expect(text.stdout).toContain(`more: add --cursor ${json(page).next_cursor}`);
    });

    it('intent update sends the next version (PUT), decided afresh', async () => {
      const body = { ...JSON.parse(fs.readFileSync(example('search-ranking.json'), 'utf8')), exposure: 80 };
      const file = path.join(files, 'search-ranking-80.json');
      fs.writeFileSync(file, JSON.stringify(body));
      const r = await sy(['intent', 'update', '-f', file], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 3 });
      expect(r.stdout).toContain('✗ search-ranking v2: denied, 1 violation; state running');
      expect(r.stdout).toContain('✗ max_exposure (exposure): exposure 80% is above the 50% cap');
      const unknown = await sy(['intent', 'update', '-f', path.join(files, 'age-gate.yaml')], operator.secret);
      expect(unknown.code).toBe(4);
    });

    it('pause, resume and complete, with a reason; an impossible action is exit 2', async () => {
      const paused = await sy(['pause', 'search-ranking', '--reason', 'latency spike'], operator.secret);
      expect(outcome(paused)).toMatchObject({ code: 0 });
      expect(paused.stdout).toBe('search-ranking: pause done; state paused, active version 1\n');
      expect((await web.get('/v1/services/web/flags')).body.flags.ranking_banner.state).toBe('DISABLED');

      const again = await sy(['pause', 'search-ranking', '--reason', 'again'], operator.secret);
      expect(outcome(again)).toMatchObject({ code: 2 });
      expect(again.stderr).toBe('invalid_transition: Cannot pause experiment search-ranking: it is paused\n');

      const resumed = await sy(['resume', 'search-ranking', '--reason', 'fixed'], owner.secret);
      expect(resumed.stdout).toBe('search-ranking: resume done; state running, active version 1\n');

      const done = await sy(['--json', 'complete', 'from-stdin', '--reason', 'finished'], owner.secret);
      expect(done.code).toBe(0);
      expect(json(done)).toMatchObject({ key: 'from-stdin', state: 'completed' });

      const audit = await sy(['audit', '--experiment', 'search-ranking', '--type', 'paused'], owner.secret);
      expect(audit.stdout).toMatch(/paused\s+search-ranking v1\s+olga\s+running → paused: "latency spike"/);
    });
  });

  describe('flags', () => {
    it('flags get prints the document as a table; --json is the document itself', async () => {
      const r = await sy(['flags', 'get', 'web'], web.secret);
      expect(outcome(r)).toMatchObject({ code: 0 });
      expect(r.stdout).toMatch(/^web: flags version \d+, ETag "[^"]+"\n/);
      expect(r.stdout).toMatch(/ranking_banner\s+ENABLED\s+search-ranking v1\s+control\s+control=bm25 \(1\), ltr=true \(1\)\s+20% \[0,2000\) of layer\/search\s+country in \[US, CA\]/);
      const doc = await sy(['--json', 'flags', 'get', 'web'], web.secret);
      expect(json(doc)).toEqual((await web.get('/v1/services/web/flags')).body);
      const other = await sy(['flags', 'get', 'search'], web.secret);
      expect(outcome(other)).toMatchObject({ code: 4 });
      expect(other.stderr).toMatch(/^forbidden_service: /);
      const unknown = await sy(['flags', 'get', 'no-such-service'], owner.secret);
      expect(unknown.stderr).toMatch(/^service_not_found: /);
      expect(unknown.code).toBe(2);
    });

    it("flags eval gives the variant the server's OFREP evaluation gives, for every unit", async () => {
      const contexts: Record<string, unknown>[] = [
        ...Array.from({ length: 10 }, (_, i) => ({ user_id: `user-${i}`, country: i % 3 === 0 ? 'FR' : 'US', age: 10 + i * 4 })),
        { targetingKey: 'tk-1', country: 'CA', age: 40 },
        { country: 'US' },
      ];
      const reasons = new Set<string>();
      for (const flag of ['ranking_banner', 'age_gate_flag']) {
        const results = await Promise.all(
          contexts.map(async (context) => {
            const args = ['--json', 'flags', 'eval', 'web', flag, ...Object.entries(context).flatMap(([k, v]) => ['--context', `${k}=${String(v)}`])];
            return [context, await sy(args, web.secret)] as const;
          }),
        );
        for (const [context, r] of results) {
          const server = await web.post(`/v1/services/web/ofrep/v1/evaluate/flags/${flag}`, { context });
          const local = json(r);
          if (server.status === 200) {
            expect(r.code, JSON.stringify({ context, local })).toBe(0);
            expect({ variant: local.variant, value: local.value, reason: local.reason }).toEqual({
              variant: server.body.variant,
              value: server.body.value,
              reason: server.body.reason,
            });
          } else {
            expect(r.code).toBe(2);
            expect(local.errorCode).toBe(server.body.errorCode);
          }
          reasons.add(local.reason);
        }
      }
      // the sample reaches every outcome: in the split, outside the audience or slice, and no unit
      expect([...reasons].sort()).toEqual(['DEFAULT', 'ERROR', 'SPLIT']);
    });

    it('flags eval: numbers in --context are JSON (age=30 passes "age gte 18"), --context-file, text output', async () => {
      const adult = await sy(['--json', 'flags', 'eval', 'web', 'age_gate_flag', '-c', 'user_id=user-2', '-c', 'age=30'], web.secret);
      const server = await web.post('/v1/services/web/ofrep/v1/evaluate/flags/age_gate_flag', { context: { user_id: 'user-2', age: 30 } });
      expect(json(adult).variant).toBe(server.body.variant);
      const quoted = await sy(['--json', 'flags', 'eval', 'web', 'age_gate_flag', '-c', 'user_id=user-2', '-c', 'age="30"'], web.secret);
      expect(json(quoted).reason).toBe('DEFAULT'); // "30" is a string: gte 18 does not hold

      const fromFile = await sy(['flags', 'eval', 'web', 'ranking_banner', '--context-file', path.join(files, 'context.yaml'), '-c', 'user_id=user-1'], web.secret);
      const expected = await web.post('/v1/services/web/ofrep/v1/evaluate/flags/ranking_banner', { context: { country: 'US', user_id: 'user-1' } });
      expect(outcome(fromFile)).toMatchObject({ code: 0 });
      expect(fromFile.stdout).toMatch(
        new RegExp(`^web/ranking_banner: ${expected.body.variant} = ${String(expected.body.value)} \\(${expected.body.reason}\\)\n  flags version \\d+, experiment search-ranking v1, unit user_id=user-1\n$`),
      );

      const missing = await sy(['flags', 'eval', 'web', 'no_such_flag', '-c', 'user_id=u'], web.secret);
      expect(outcome(missing)).toMatchObject({ code: 2, stdout: 'web/no_such_flag: FLAG_NOT_FOUND: flag "no_such_flag" does not exist\n' });
    });
  });

  describe('audit and tokens', () => {
    it('audit lists events with filters; --json is the page', async () => {
      const r = await sy(['audit', '--experiment', 'checkout-redesign'], owner.secret);
      expect(outcome(r)).toMatchObject({ code: 0 });
      expect(r.stdout.split('\n')[0]).toMatch(/^SEQ\s+AT\s+TYPE\s+SUBJECT\s+ACTOR\s+WHAT$/);
      expect(r.stdout).toMatch(/submitted\s+checkout-redesign v1\s+alice\s+services web, checkout-api/);
      expect(r.stdout).toMatch(/decided\s+checkout-redesign v1\s+alice\s+pending_approval/);
      expect(r.stdout).toMatch(/approved\s+checkout-redesign v1\s+sam\s+as sre, all approvals in: "capacity ok"/);
      const page = await sy(['--json', 'audit', '--actor', 'sam', '--type', 'approved', '--limit', '1'], owner.secret);
      expect(json(page).events).toEqual([expect.objectContaining({ type: 'approved', actor: 'sam', experiment: 'checkout-redesign' })]);
      const bad = await sy(['audit', '--from', 'yesterday'], owner.secret);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^validation_failed: [^\n]+\n  from: /);
    });

    it('audit verify: the chain intact with its head (exit 0); a head kept from earlier found, or not on the chain (exit 6)', async () => {
      const intact = await sy(['--json', 'audit', 'verify'], owner.secret);
      expect(outcome(intact)).toMatchObject({ code: 0 });
      const v = json(intact);
      expect(v).toMatchObject({ ok: true, head: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const text = await sy(['audit', 'verify'], owner.secret);
      expect(outcome(text)).toMatchObject({ code: 0, stdout: `chain intact: ${v.events} events, head ${v.head}\n` });
      const found = await sy(['audit', 'verify', '--head', v.head], owner.secret);
      expect(found.code).toBe(0);
      expect(found.stdout).toMatch(new RegExp(`^chain intact: \\d+ events, head [0-9a-f]{64}\nhead ${v.head} is on the chain \\(seq \\d+\\)\n$`));
      const lost = await sy(['audit', 'verify', '--head', 'f'.repeat(64)], owner.secret);
      expect(lost.code).toBe(6);
      expect(lost.stdout).toMatch(/\nhead f{64} is NOT on the chain: events up to it were deleted or rewritten\n$/);
      const bad = await sy(['audit', 'verify', '--head', 'nope'], owner.secret);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^validation_failed: [^\n]+\n  head: /);
    });

    it('token create prints the secret once; token revoke makes it useless (exit 4)', async () => {
      const created = await sy(['--json', 'token', 'create', '--name', 'carol', '--role', 'owner', '--team', 'crm'], ADMIN);
      expect(outcome(created)).toMatchObject({ code: 0 });
      const t = json(created);
      expect(t).toMatchObject({ id: expect.stringMatching(/^tok_/), token: expect.stringMatching(/^sy_/), name: 'carol', role: 'owner' });
      expect((await sy(['intent', 'list'], t.token)).code).toBe(0);

      const text = await sy(['token', 'create', '--name', 'pia', '--role', 'approver', '--approval-role', 'privacy', '--approval-role', 'sre'], ADMIN);
      expect(text.stdout).toMatch(/^created tok_\w+ for pia \(approver\); the token is shown only now:\nsy_[\w-]+\n$/);

      const revoked = await sy(['token', 'revoke', t.id], ADMIN);
      expect(outcome(revoked)).toMatchObject({ code: 0, stdout: `revoked ${t.id}\n` });
      const after = await sy(['intent', 'list'], t.token);
      expect(outcome(after)).toMatchObject({ code: 4 });
      expect(after.stderr).toMatch(/^unauthorized: /);
      expect((await sy(['token', 'revoke', t.id], ADMIN)).stderr).toMatch(/^token_not_found: /);

      const refused = await sy(['token', 'create', '--name', 'x', '--role', 'owner'], ADMIN);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('  team: an owner token needs a team');
      expect((await sy(['token', 'create', '--name', 'x', '--role', 'service', '--service', 'web'], owner.secret)).code).toBe(4);
    });
  });

  describe('connection settings: flags > environment > config file', () => {
    const config = (lines: Record<string, string>) => Object.entries(lines).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n';

    it('reads url and token from --config, or from ~/.config/switchyard/config.yaml', async () => {
      const dir = tempDir({ 'sy.yaml': config({ url: s.base, token: owner.secret }) });
      const explicit = await cli(['intent', 'get', 'search-ranking', '--config', path.join(dir, 'sy.yaml')]);
      expect(outcome(explicit)).toMatchObject({ code: 0 });

      const home = tempDir({ '.config/switchyard/config.yaml': config({ url: s.base, token: owner.secret }) });
      expect((await cli(['intent', 'list'], { env: { HOME: home } })).code).toBe(0);
      const xdg = tempDir({ 'switchyard/config.yaml': config({ url: s.base, token: owner.secret }) });
      expect((await cli(['intent', 'list'], { env: { XDG_CONFIG_HOME: xdg } })).code).toBe(0);
    });

    it('the environment wins over the file, and flags win over both', async () => {
      const dir = tempDir({ 'sy.yaml': config({ url: dead, token: 'sy_from_file' }) });
      const file = path.join(dir, 'sy.yaml');
      // file only: its unreachable URL
      const fileOnly = await cli(['intent', 'list', '--config', file]);
      expect(outcome(fileOnly)).toMatchObject({ code: 2 });
      expect(fileOnly.stderr.startsWith(`error: cannot reach ${dead} `)).toBe(true);
      // env beats the file
      const env = await cli(['intent', 'list', '--config', file], { env: { SWITCHYARD_URL: s.base, SWITCHYARD_TOKEN: owner.secret } });
      expect(outcome(env)).toMatchObject({ code: 0 });
      // flags beat env: a bad --token is used although the environment has a good one
      const flag = await cli(['intent', 'list', '--config', file, '--token', 'sy_wrong'], { env: { SWITCHYARD_URL: s.base, SWITCHYARD_TOKEN: owner.secret } });
      expect(outcome(flag)).toMatchObject({ code: 4 });
      const flagUrl = await cli(['intent', 'list', '--url', s.base, '--token', owner.secret], { env: { SWITCHYARD_URL: dead } });
      expect(outcome(flagUrl)).toMatchObject({ code: 0 });
    });

    it('a broken or misspelt config file is a usage error (exit 1)', async () => {
      const dir = tempDir({ 'typo.yaml': 'url: http://x\ntokne: sy_x\n', 'bad.yaml': 'url: [unclosed\n' });
      const typo = await cli(['intent', 'list', '--config', path.join(dir, 'typo.yaml')]);
      expect(outcome(typo)).toMatchObject({ code: 1 });
      expect(typo.stderr).toContain('unknown key "tokne"');
      expect((await cli(['intent', 'list', '--config', path.join(dir, 'bad.yaml')])).code).toBe(1);
      expect((await cli(['intent', 'list', '--config', path.join(dir, 'missing.yaml')])).code).toBe(1);
      expect((await cli(['intent', 'list'], { env: { SWITCHYARD_URL: 'ftp://x' } })).code).toBe(1);
    });
  });

  describe('exit codes', () => {
    it('4 for a bad token or none, with a hint when none was configured', async () => {
      const bad = await sy(['intent', 'list'], 'sy_not_a_token');
      expect(outcome(bad)).toMatchObject({ code: 4, stdout: '' });
      expect(bad.stderr).toBe('unauthorized: The bearer token is unknown or revoked\n');
      const none = await sy(['intent', 'list'], undefined);
      expect(none.code).toBe(4);
      expect(none.stderr).toContain('no token was sent: pass --token, set SWITCHYARD_TOKEN, or put "token:" in');
      const forbidden = await sy(['intent', 'list'], web.secret);
      expect(forbidden.code).toBe(4);
    });

    it('1 for bad usage, before any request', async () => {
      const cases: string[][] = [
        ['no-such-command'],
        ['intent', 'submit'],
        ['intent', 'get'],
        ['intent', 'list', '--state', 'sleeping'],
        ['intent', 'list', '--limit', 'ten'],
        ['pause', 'search-ranking'],
        ['flags', 'eval', 'web', 'f', '--context', 'no-equals-sign'],
        ['intent', 'submit', '-f', path.join(files, 'missing.yaml')],
        ['intent', 'submit', '-f', path.join(files, 'broken.json')],
        ['token', 'create', '--name', 'x', '--role', 'superuser'],
        ['intent'],
      ];
      const results = await Promise.all(cases.map((args) => sy(args, owner.secret, { SWITCHYARD_URL: dead })));
      results.forEach((r, i) => {
        expect({ args: cases[i], code: r.code }).toEqual({ args: cases[i], code: 1 });
        expect(r.stderr).not.toBe('');
      });
      expect(results[7]!.stderr).toMatch(/^error: cannot read intent file .*missing\.yaml/);
      expect(results[8]!.stderr).toMatch(/^error: .*broken\.json is not valid JSON/);
      expect((await cli(['--help'])).code).toBe(0);
      expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
    });

    it('2 when the server cannot be reached, 5 for a server error', async () => {
      const down = await sy(['intent', 'list'], owner.secret, { SWITCHYARD_URL: dead });
      expect(outcome(down)).toMatchObject({ code: 2 });
      expect(down.stderr).toBe(`error: cannot reach ${dead} (GET /v1/intents): ECONNREFUSED\n`);

      // a stand-in for a failing server: the real one only answers 5xx on a bug
      const failing = http.createServer((_req, res) => {
        res.writeHead(503, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ type: 'urn:switchyard:problem:shutting_down', title: 'shutting down', status: 503, code: 'shutting_down', detail: 'The server is shutting down' }));
      });
      await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
        const r = await sy(['intent', 'list'], owner.secret, { SWITCHYARD_URL: url });
        expect(outcome(r)).toMatchObject({ code: 5, stderr: 'shutting_down: The server is shutting down\n' });
      } finally {
        failing.close();
      }
    });
  });
});
