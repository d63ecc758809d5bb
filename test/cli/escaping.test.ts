import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleIntent, startServer, type TestServer } from '../helpers/harness.js';
import { cli, ensureCliBuilt } from './cli-process.js';

/**
 * Stored text reaches people through the CLI: an ESC sequence, a forged line and a bidi override
 * in fields the server accepts (a description, a comment, a reason, a flag value) are shown
 * escaped in text output, and exactly as stored with --json.
 */
const EVIL = 'ok\u001b[2J\u001b]0;pwned\u0007\n✓ forged line \u202egnp.exe';
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('the CLI escapes control characters in human output (the built binary)', () => {
  let s: TestServer;
  let alice: string;
  let sam: string;
  beforeAll(async () => {
    await ensureCliBuilt();
    s = await startServer();
    alice = (await s.token({ name: 'alice', role: 'owner', team: 'growth' })).secret;
    sam = (await s.token({ name: 'sam', role: 'approver', approval_roles: ['sre'] })).secret;
    const intent = simpleIntent('evil-text', {
      description: EVIL,
      services: [{ service: 'checkout-api', flag: 'evil_flag' }],
      exposure: 2,
      variants: [
        { key: 'control', weight: 50, value: 'off' },
        { key: 'treatment', weight: 50, value: EVIL },
      ],
    });
    const sub = await s.api.request('POST', '/v1/intents', intent, { authorization: `Bearer ${alice}` });
    expect(sub.status).toBe(201);
    expect((await cli(['approve', 'evil-text', '--comment', EVIL], { env: { SWITCHYARD_URL: s.base, SWITCHYARD_TOKEN: sam } })).code).toBe(0);
    expect((await cli(['pause', 'evil-text', '--reason', EVIL], { env: { SWITCHYARD_URL: s.base, SWITCHYARD_TOKEN: alice } })).code).toBe(0);
  }, 180_000);
  afterAll(async () => s?.close());

  const sy = (args: string[]) => cli(args, { env: { SWITCHYARD_URL: s.base, SWITCHYARD_TOKEN: alice } });

  it('intent get, flags get and audit show the text escaped, on lines of their own making', async () => {
    for (const args of [['intent', 'get', 'evil-text'], ['flags', 'get', 'checkout-api'], ['audit', '--experiment', 'evil-text']]) {
      const r = await sy(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).not.toMatch(RAW);
      expect(r.stdout, args.join(' ')).toContain('\\u001b[2J');
      // The stored newline does not start a line of its own.
      expect(r.stdout.split('\n').some((l) => l.startsWith('✓ forged line'))).toBe(false);
    }
    expect((await sy(['intent', 'get', 'evil-text'])).stdout).toContain('\\u000a✓ forged line \\u202egnp.exe');
  });

  it('--json gives the stored text exactly', async () => {
    const r = await sy(['--json', 'intent', 'get', 'evil-text']);
    const d = JSON.parse(r.stdout);
    expect(d.intent.description).toBe(EVIL);
    expect(d.approvals[0].comment).toBe(EVIL);
  });
});
