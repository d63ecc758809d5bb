import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireRole, requireTeamAccess, SYSTEM_ACTOR, type Actor } from '../../../src/access/actor.js';
import { generateToken, hashToken, redactTokens, TokenService } from '../../../src/access/token-service.js';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { ManualClock } from '../../../src/clock.js';
import { SwitchyardError } from '../../../src/errors.js';
import type { Database } from '../../../src/storage/sqlite/database.js';
import { openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';
import { SqliteTokenStore as TokenStore } from '../../../src/storage/sqlite/token-store.js';

/** The token service on a real SQLite file, without a server. */
describe('TokenService', () => {
  let dir: string;
  let db: Database;
  let storage: SqliteStorage;
  let tokens: TokenService;
  let audit: AuditLog;
  let clock: ManualClock;
  const admin: Actor = { tokenId: 'tok_admin', name: 'root', role: 'admin', team: null, approvalRoles: [], service: null };

  const open = async () => {
    storage = openSqliteStorage({ path: path.join(dir, 'db.sqlite') });
    db = storage.db;
    clock = new ManualClock(new Date('2026-12-01T00:00:00Z'));
    audit = new AuditLog(storage.read.audit, clock);
    tokens = new TokenService({ read: storage.read.tokens, audit, clock, tx: storage.tx });
    await tokens.load(storage);
  };

  /** The error `fn` throws, as code, status and the field paths it names. */
  const refusal = async (fn: () => unknown) => {
    try {
      await fn();
    } catch (err) {
      expect(err).toBeInstanceOf(SwitchyardError);
      const e = err as SwitchyardError & { details?: { errors?: { path: string; message: string }[] } };
      return { code: e.code, status: e.status, message: e.message, fields: e.details?.errors ?? [] };
    }
    throw new Error('expected a refusal');
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-tokens-'));
    await open();
  });

  afterEach(async () => {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates a token that authenticates as the actor it names, and records who made it', async () => {
    const made = await tokens.create({ name: 'amy', role: 'approver', approval_roles: ['privacy'] }, admin);
    expect(made).toMatchObject({ name: 'amy', role: 'approver' });
    expect(made.id).toMatch(/^tok_[0-9A-Z]{26}$/);
    expect(made.token).toMatch(/^sy_[A-Za-z0-9_-]{43}$/);
    expect(await tokens.authenticate(made.token)).toEqual({ tokenId: made.id, name: 'amy', role: 'approver', team: null, approvalRoles: ['privacy'], service: null });
    expect((await audit.query({ limit: 10 })).at(-1)).toMatchObject({
      type: 'token_created',
      actor: 'root',
      data: { token_id: made.id, name: 'amy', role: 'approver', team: null, approval_roles: ['privacy'], service: null },
    });
  });

  it.each([
    [{ name: 'o', role: 'owner' }, 'team: an owner token needs a team'],
    [{ name: 's', role: 'service' }, 'service: a service token needs a service'],
    [{ name: 'a', role: 'approver' }, 'approval_roles: an approver token needs at least one approval role'],
    [{ name: 'a', role: 'approver', approval_roles: [] }, 'approval_roles: an approver token needs at least one approval role'],
    [{ name: 'g', role: 'governance', team: 'growth' }, 'team: only owner tokens have a team'],
    [{ name: 'g', role: 'operator', service: 'web' }, 'service: only service tokens have a service'],
    [{ name: 'x', role: 'root' }, 'role: '],
    [{ name: 'x', role: 'admin', extra: 1 }, 'extra: unknown field "extra"'],
  ])('refuses %j (validation_failed: %s) and writes nothing', async (body, field) => {
    const r = await refusal(() => tokens.create(body, admin));
    expect(r).toMatchObject({ code: 'validation_failed', status: 400, message: 'The token request is not valid' });
    expect(r.fields).toHaveLength(1);
    expect(`${r.fields[0]!.path}: ${r.fields[0]!.message}`.startsWith(field)).toBe(true);
    expect(await tokens.list()).toEqual([]);
    expect(await audit.query({ limit: 10 })).toEqual([]);
  });

  it('records a token without approval roles, team or service with empty ones in the audit trail', async () => {
    const made = await tokens.create({ name: 'p', role: 'operator' }, admin);
    expect((await audit.query({ limit: 10 })).at(-1)!.data).toEqual({ token_id: made.id, name: 'p', role: 'operator', team: null, approval_roles: [], service: null });
  });

  it('accepts each role with exactly what it needs', async () => {
    for (const body of [
      { name: 'o', role: 'owner', team: 'growth' },
      { name: 's', role: 'service', service: 'web' },
      { name: 'a', role: 'approver', approval_roles: ['privacy'] },
      { name: 'g', role: 'governance' },
      { name: 'p', role: 'operator' },
      { name: 'r', role: 'admin' },
    ]) {
      await expect(tokens.create(body, admin)).resolves.toBeDefined();
    }
  });

  it('refuses a missing, unknown or revoked bearer token with 401', async () => {
    expect(await refusal(() => tokens.authenticate(undefined))).toMatchObject({ code: 'unauthorized', status: 401, message: 'A valid bearer token is required' });
    expect(await refusal(() => tokens.authenticate(''))).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(await refusal(() => tokens.authenticate(generateToken()))).toMatchObject({
      code: 'unauthorized',
      message: 'The bearer token is unknown or revoked',
    });
    const made = await tokens.create({ name: 'svc', role: 'service', service: 'web' }, admin);
    await tokens.revoke(made.id, admin);
    expect(await refusal(() => tokens.authenticate(made.token))).toMatchObject({ code: 'unauthorized', message: 'The bearer token is unknown or revoked' });
  });

  it('lists every token, revoked ones too, with only the fields it has and never the secret', async () => {
    // Listed by creation time: a second apart, so the order does not rest on ids made in one millisecond.
    const owner = await tokens.create({ name: 'olga', role: 'owner', team: 'growth' }, admin);
    clock.advance(1000);
    const svc = await tokens.create({ name: 'svc', role: 'service', service: 'web' }, admin);
    clock.advance(1000);
    const amy = await tokens.create({ name: 'amy', role: 'approver', approval_roles: ['privacy'] }, admin);
    clock.advance(1000);
    await tokens.revoke(svc.id, admin);
    expect(await tokens.list()).toEqual([
      { id: owner.id, name: 'olga', role: 'owner', team: 'growth', created_at: '2026-12-01T00:00:00.000Z' },
      { id: svc.id, name: 'svc', role: 'service', service: 'web', created_at: '2026-12-01T00:00:01.000Z', revoked_at: '2026-12-01T00:00:03.000Z' },
      { id: amy.id, name: 'amy', role: 'approver', approval_roles: ['privacy'], created_at: '2026-12-01T00:00:02.000Z' },
    ]);
  });

  it('revokes once: a second revocation, or an unknown id, is token_not_found; listeners hear each revocation after it commits', async () => {
    const made = await tokens.create({ name: 'p', role: 'operator' }, admin);
    const heard: string[] = [];
    // What the listener reads at the moment it is told (synchronously, on the file): the revocation has committed.
    const revokedAt = (id: string) => db.prepare<[string], string | null>('SELECT revoked_at FROM tokens WHERE id = ?').pluck().get(id);
    const stop = tokens.onRevoked((id) => heard.push(`${id}:${revokedAt(id) ?? 'live'}`));
    await tokens.revoke(made.id, admin);
    expect(heard).toEqual([`${made.id}:2026-12-01T00:00:00.000Z`]);
    expect((await audit.query({ limit: 10 })).at(-1)).toMatchObject({ type: 'token_revoked', actor: 'root', data: { token_id: made.id, name: 'p', role: 'operator' } });
    expect(await refusal(() => tokens.revoke(made.id, admin))).toMatchObject({ code: 'token_not_found', status: 404 });
    expect(await refusal(() => tokens.revoke('tok_nope', admin))).toMatchObject({ code: 'token_not_found', status: 404, message: 'No active token with id tok_nope' });
    stop();
    await tokens.revoke((await tokens.create({ name: 'q', role: 'operator' }, admin)).id, admin);
    expect(heard).toHaveLength(1);
  });

  it('bootstrap: a brand-new database gets one fresh admin token, printed once; a later start makes none', async () => {
    const first = await tokens.bootstrap(undefined);
    expect(first.token).toMatch(/^sy_/);
    expect(await tokens.authenticate(first.token!)).toMatchObject({ name: 'admin', role: 'admin' });
    expect(await audit.query({ limit: 10 })).toMatchObject([{ type: 'token_created', actor: 'bootstrap', data: { name: 'admin', role: 'admin', source: 'first start' } }]);
    expect(await tokens.bootstrap(undefined)).toEqual({ token: null });
    expect(await tokens.list()).toEqual([{ id: expect.stringMatching(/^tok_[0-9A-Z]{26}$/), name: 'admin', role: 'admin', created_at: '2026-12-01T00:00:00.000Z' }]);
    expect((await audit.query({ limit: 10 }))[0]!.data).toMatchObject({ token_id: (await tokens.list())[0]!.id });
    expect(await new TokenStore(db).get((await tokens.list())[0]!.id)).toMatchObject({ createdBy: 'bootstrap', approvalRoles: [] });
  });

  it('bootstrap: a configured token is inserted once, whatever the restarts, and is never printed', async () => {
    const configured = 'sy_configured-bootstrap-token-0001';
    expect(await tokens.bootstrap(configured)).toEqual({ token: null });
    expect(await tokens.bootstrap(configured)).toEqual({ token: null });
    expect(await tokens.authenticate(configured)).toMatchObject({ name: 'bootstrap-admin', role: 'admin', approvalRoles: [] });
    expect(await tokens.list()).toEqual([{ id: expect.stringMatching(/^tok_[0-9A-Z]{26}$/), name: 'bootstrap-admin', role: 'admin', created_at: '2026-12-01T00:00:00.000Z' }]);
    expect(await new TokenStore(db).get((await tokens.list())[0]!.id)).toMatchObject({ createdBy: 'bootstrap' });
    expect(await audit.query({ limit: 10 })).toMatchObject([
      { type: 'token_created', actor: 'bootstrap', data: { name: 'bootstrap-admin', role: 'admin', source: 'SWITCHYARD_BOOTSTRAP_TOKEN' } },
    ]);
  });
});

describe('token helpers', () => {
  it('stores a token as its SHA-256 in hex', async () => {
    expect(hashToken('sy_abc')).toBe(crypto.createHash('sha256').update('sy_abc').digest('hex'));
  });

  it('generates 256-bit tokens that differ', async () => {
    const a = generateToken();
    expect(a).toMatch(/^sy_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(3), 'base64url')).toHaveLength(32);
    expect(generateToken()).not.toBe(a);
  });

  it('redacts anything shaped like a token from text, and leaves short sy_ words alone', async () => {
    const t = generateToken();
    expect(redactTokens(`owner "${t}" and ${t}!`)).toBe('owner "sy_[redacted]" and sy_[redacted]!');
    expect(redactTokens('sy_configured-bootstrap')).toBe('sy_[redacted]');
    expect(redactTokens('sy_short and easy_going')).toBe('sy_short and easy_going');
  });
});

describe('requireRole and requireTeamAccess', () => {
  const actor = (role: Actor['role'], team: string | null = null): Actor => ({ tokenId: 't', name: 'n', role, team, approvalRoles: [], service: null });
  const code = (fn: () => void) => {
    try {
      fn();
      return null;
    } catch (err) {
      return `${(err as SwitchyardError).code}: ${(err as Error).message}`;
    }
  };

  it('lets admins and the listed roles through, and names the role it refuses with its article', async () => {
    expect(code(() => requireRole(actor('admin'), ['owner'], 'submit intents'))).toBeNull();
    expect(code(() => requireRole(actor('owner'), ['owner', 'operator'], 'submit intents'))).toBeNull();
    expect(code(() => requireRole(actor('operator'), ['owner'], 'submit intents'))).toBe('forbidden: An operator token may not submit intents');
    expect(code(() => requireRole(actor('service'), ['owner'], 'submit intents'))).toBe('forbidden: A service token may not submit intents');
    // The name schedule transitions carry in the audit trail and the event feed.
    expect(SYSTEM_ACTOR).toEqual({ tokenId: 'system', name: 'system:scheduler', role: 'admin', team: null, approvalRoles: [], service: null });
  });

  it("owners act only on their own team's intents; operators only where allowed; admins everywhere", async () => {
    expect(code(() => requireTeamAccess(actor('admin'), 'growth', 'pause', false))).toBeNull();
    expect(code(() => requireTeamAccess(actor('owner', 'growth'), 'growth', 'pause', false))).toBeNull();
    expect(code(() => requireTeamAccess(actor('owner', 'search'), 'growth', 'pause', true))).toBe(
      'forbidden_team: This token acts for team search, not for team growth; it may not pause',
    );
    expect(code(() => requireTeamAccess(actor('owner'), 'growth', 'pause', true))).toBe('forbidden_team: This token acts for team (none), not for team growth; it may not pause');
    expect(code(() => requireTeamAccess(actor('operator'), 'growth', 'pause', true))).toBeNull();
    expect(code(() => requireTeamAccess(actor('operator'), 'growth', 'edit', false))).toBe('forbidden: An operator token may not edit');
    expect(code(() => requireTeamAccess(actor('governance'), 'growth', 'pause', true))).toBe('forbidden: A governance token may not pause');
  });
});
