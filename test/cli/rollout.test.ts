import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Api, type TestServer } from '../helpers/harness.js';
import { errorEvents, flagOf, guardedIntent, placer, sendTelemetry } from '../helpers/rollout-telemetry.js';
import { cli, ensureCliBuilt, tempDir, type CliResult } from './cli-process.js';

/** The exit code with the output, so a failing assertion shows what the CLI said. */
const outcome = (r: CliResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

/**
 * `intent advance`, `intent ship`, `intent analysis` and the rollout line of `intent get` (SPEC §10),
 * the built binary against a real server; telemetry goes through the real route.
 */
describe('switchyard CLI: guarded rollouts', () => {
  let s: TestServer;
  let owner: Api & { secret: string };
  let svc: Api;
  let files: string;
  const sy = (args: string[]) => cli(args, { env: { SWITCHYARD_URL: s.base, SWITCHYARD_TOKEN: owner.secret } });

  beforeAll(async () => {
    await ensureCliBuilt();
    s = await startServer();
    owner = await s.token({ name: 'alice', role: 'owner', team: 'growth' });
    svc = await s.token({ name: 'recs', role: 'service', service: 'recommendations' });
    files = tempDir({
      'guarded.json': JSON.stringify(
        guardedIntent('cli-guarded', {
          stages: [{ exposure: 20, hold: 'PT1H' }, { exposure: 50 }],
          guardrails: [{ metric: 'error_rate', max_regression: 0.1 }],
        }),
      ),
    });
  }, 180_000);
  afterAll(async () => {
    await s?.close();
    if (files) fs.rmSync(files, { recursive: true, force: true });
  });

  it('intent get shows the stage (counted from 1), exposure, hold and status; advance before the hold is exit 2', async () => {
    const submitted = await sy(['intent', 'submit', '-f', path.join(files, 'guarded.json')]);
    expect(outcome(submitted)).toMatchObject({ code: 0 });
    expect(submitted.stdout).toContain('✓ cli-guarded v1: approved; state running');

    const got = await sy(['intent', 'get', 'cli-guarded']);
    expect(outcome(got)).toMatchObject({ code: 0, stderr: '' });
    const lines = got.stdout.split('\n');
    expect(lines).toContain('  rollout:     stage 1/2 at 20%, hold until 2026-11-25T13:00:00.000Z, status holding');
    expect(lines).toContain('  stages:      20% hold PT1H → 50%');
    expect(lines).toContain('  guardrails:  error_rate (tolerates +10.0%)');

    const early = await sy(['intent', 'advance', 'cli-guarded']);
    expect(outcome(early)).toMatchObject({ code: 2, stdout: '' });
    expect(early.stderr).toContain('hold_not_elapsed');
    expect((await s.api.get('/v1/intents/cli-guarded')).body.rollout.stage).toBe(0);
  });

  it('intent analysis prints units, the sample-ratio check and a row per guardrail and arm; --json is the server answer', async () => {
    const flag = flagOf('cli-guarded');
    const events = errorEvents({ units: 20_000, place: await placer(svc, 'recommendations', flag), flag, base: 0.05, ratio: 3 });
    await sendTelemetry(svc, 'recommendations', events);
    const body = (await s.api.get('/v1/intents/cli-guarded/analysis')).body;
    expect(body.status).toBe('regressed');
    const g = body.guardrails[0];

    const r = await sy(['intent', 'analysis', 'cli-guarded']);
    expect(outcome(r)).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('cli-guarded v1: analysis regressed');
    expect(lines[1]).toMatch(/^ {2}ARM +UNITS$/);
    expect(lines[2]).toMatch(new RegExp(`^ {2}control +${body.units.control}$`));
    expect(lines[3]).toMatch(new RegExp(`^ {2}treatment +${body.units.treatment}$`));
    expect(lines[4]).toMatch(/^sample ratio: p = \d\.\d{3}, ok$/);
    expect(lines[5]).toBe('assignment mismatches: 0');
    expect(lines[6]!.split(/ {2,}/)).toEqual(['METRIC', 'ARM', 'CONTROL (UNITS, MEAN)', 'ARM (UNITS, MEAN)', 'CHANGE', 'INTERVAL', 'TOLERATED', 'STATUS']);
    const pct = (x: number) => `${x > 0 ? '+' : '-'}${Math.abs(x * 100).toFixed(1)}%`;
    expect(lines[7]!.split(/ {2,}/)).toEqual([
      'error_rate',
      'treatment',
      `${g.control.units}, ${Number(g.control.mean.toPrecision(4))}`,
      `${g.arm_stats.units}, ${Number(g.arm_stats.mean.toPrecision(4))}`,
      pct(g.relative_change),
      `[${pct(g.interval[0])}, ${pct(g.interval[1])}]`,
      '+10.0%',
      'regressed',
    ]);
    // a treatment erring 3× as often: a positive change whose whole interval is above +10 %
    expect(g.relative_change).toBeGreaterThan(1);
    expect(g.interval[0]).toBeGreaterThan(0.1);
    expect(lines[8]).toMatch(/^method: msprt-delta, alpha 0\.05 per interval, at least 100 units per arm$/);

    const asJson = await sy(['--json', 'intent', 'analysis', 'cli-guarded']);
    expect(asJson.code).toBe(0);
    expect(JSON.parse(asJson.stdout)).toEqual((await s.api.get('/v1/intents/cli-guarded/analysis')).body);
  });

  it('intent advance after the hold is refused while a guardrail regressed (exit 2), and nothing moves', async () => {
    s.clock.advance(3600_000);
    const r = await sy(['intent', 'advance', 'cli-guarded', '--reason', 'looks fine']);
    expect(outcome(r)).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toContain('guardrail_regressed');
    const got = await sy(['intent', 'get', 'cli-guarded']);
    expect(got.stdout).toContain('  rollout:     stage 1/2 at 20%, hold until 2026-11-25T13:00:00.000Z, status blocked');
  });

  it('intent advance moves a healthy rollout to its next stage, with the reason in the audit trail', async () => {
    const file = path.join(files, 'plain.json');
    fs.writeFileSync(file, JSON.stringify(guardedIntent('cli-plain', { stages: [{ exposure: 10 }, { exposure: 30, hold: 'PT2H' }, { exposure: 60 }] })));
    expect((await sy(['intent', 'submit', '-f', file])).code).toBe(0);
    const r = await sy(['intent', 'advance', 'cli-plain', '--reason', 'stage 1 clean']);
    expect(outcome(r)).toMatchObject({ code: 0, stderr: '' });
    const holdUntil = new Date(s.clock.now().getTime() + 2 * 3600_000).toISOString();
    expect(r.stdout).toBe(`cli-plain: advanced; stage 2/3 at 30%, hold until ${holdUntil}, status holding\n`);
    const detail = (await s.api.get('/v1/intents/cli-plain')).body;
    expect(detail.rollout).toMatchObject({ stage: 1, stages: 3, exposure: 30 });
    const audit = (await s.api.get('/v1/audit?experiment=cli-plain&type=advanced')).body;
    expect(audit.events.at(-1).data).toMatchObject({ from_stage: 0, to_stage: 1, reason: 'stage 1 clean' });

    const asJson = await sy(['--json', 'intent', 'advance', 'cli-plain']);
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ status: 409, code: 'hold_not_elapsed' });
  });

  it('intent ship serves one variant to everyone: state shipped, listed by --state shipped; a missing --variant is a usage error', async () => {
    const missing = await sy(['intent', 'ship', 'cli-plain', '--reason', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--variant');

    const r = await sy(['intent', 'ship', 'cli-plain', '--variant', 'treatment', '--reason', 'treatment wins']);
    expect(outcome(r)).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')[0]).toBe('✓ cli-plain v2: approved; state shipped');
    const got = await sy(['intent', 'get', 'cli-plain']);
    expect(got.stdout).toContain('  ships:       variant treatment to every unit');
    const listed = await sy(['intent', 'list', '--state', 'shipped']);
    expect(outcome(listed)).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout.split('\n').filter((l) => /^cli-/.test(l)).map((l) => l.split(/ +/)[0])).toEqual(['cli-plain']);
  });
});
