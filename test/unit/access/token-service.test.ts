import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GUARDRAIL_ACTOR, READERS, requireRole, requireServiceAccess, requireTeamAccess, SYSTEM_ACTOR, type Actor } from '../../../src/access/actor.js';
import { ROLES } from '../../../src/access/token-store.js';
import { generateToken, hashToken, redactTokens, TokenService } from '../../../src/access/token-service.js';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { ManualClock } from '../../../src/clock.js';
import { SwitchyardError } from '../../../src/errors.js';
import type { Database } from '../../../src/storage/sqlite/database.js';
import { OTHER_WRITER_POLL_MS, openSqliteStorage, type SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';
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

  it('actorById: the actor of an active token by its id, among several; 401 for an unknown or revoked id', async () => {
    const olga = await tokens.create({ name: 'olga', role: 'owner', team: 'growth' }, admin);
    const svc = await tokens.create({ name: 'svc', role: 'service', service: 'web' }, admin);
    const amy = await tokens.create({ name: 'amy', role: 'approver', approval_roles: ['privacy', 'sre'] }, admin);
    expect(tokens.actorById(olga.id)).toEqual({ tokenId: olga.id, name: 'olga', role: 'owner', team: 'growth', approvalRoles: [], service: null });
    expect(tokens.actorById(svc.id)).toEqual({ tokenId: svc.id, name: 'svc', role: 'service', team: null, approvalRoles: [], service: 'web' });
    expect(tokens.actorById(amy.id)).toEqual(await tokens.authenticate(amy.token));
    const gone = '401 unauthorized: The token behind this ticket is unknown or revoked';
    const why = async (id: string) => {
      const r = await refusal(() => tokens.actorById(id));
      return `${r.status} ${r.code}: ${r.message}`;
    };
    expect(await why('tok_nope')).toBe(gone);
    await tokens.revoke(svc.id, admin);
    expect(await why(svc.id)).toBe(gone);
    expect(tokens.actorById(olga.id).name).toBe('olga');
  });

  it('revoking one token drops only that one from the snapshot', async () => {
    const a = await tokens.create({ name: 'a', role: 'operator' }, admin);
    const b = await tokens.create({ name: 'b', role: 'operator' }, admin);
    await tokens.revoke(a.id, admin);
    expect((await tokens.authenticate(b.token)).tokenId).toBe(b.id);
    expect(tokens.actorById(b.id).tokenId).toBe(b.id);
  });

  describe('the snapshot of active tokens', () => {
    /** Another process on the same file: its commits reach this one only through the change feed. */
    let other: BetterSqlite3.Database;
    const row = (id: string, name: string) => ({ id, name, role: 'operator' as const, team: null, approvalRoles: [], service: null, createdAt: '2026-12-01T00:00:00Z', createdBy: 'test' });
    const insertElsewhere = (id: string, name: string, secret: string) =>
      other
        .prepare("INSERT INTO tokens (id, name, role, team, approval_roles, service, hash, created_at, created_by) VALUES (?, ?, 'operator', NULL, '[]', NULL, ?, '2026-12-01T00:00:00Z', 'test')")
        .run(id, name, hashToken(secret));
    const revokeElsewhere = (id: string) => other.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run('2026-12-01T00:00:05Z', id);
    /** Every reload a feed listener may have started has run: the reload reads the file synchronously. */
    const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
    const knows = async (secret: string) => {
      try {
        return (await tokens.authenticate(secret)).tokenId;
      } catch {
        return null;
      }
    };

    beforeEach(() => {
      other = new BetterSqlite3(path.join(dir, 'db.sqlite'));
    });
    afterEach(() => {
      tokens.stop();
      other.close();
    });

    it('load reads the tokens already on the file, without a feed too, and stop then is harmless', async () => {
      await storage.tx.run(async (u) => {
        await u.tokens.insert(row('t1', 'one'), hashToken('sy_one'));
      });
      const fresh = new TokenService({ read: storage.read.tokens, audit, clock, tx: storage.tx });
      await fresh.load();
      expect((await fresh.authenticate('sy_one')).tokenId).toBe('t1');
      expect(() => fresh.stop()).not.toThrow();
    });

    it("follows another process's commits through the feed: new tokens work, revoked ones stop, and only those are told", async () => {
      await storage.tx.run(async (u) => {
        await u.tokens.insert(row('t1', 'one'), hashToken('sy_one'));
        await u.tokens.insert(row('t2', 'two'), hashToken('sy_two'));
      });
      await tokens.reload();
      const told: string[] = [];
      tokens.onRevoked((id) => told.push(id));
      // Nothing changed: a reload tells nobody.
      await tokens.reload();
      expect(told).toEqual([]);
      insertElsewhere('t3', 'three', 'sy_three');
      revokeElsewhere('t1');
      storage.checkExternal();
      await vi.waitFor(async () => expect(await knows('sy_three')).toBe('t3'), { timeout: 50 * OTHER_WRITER_POLL_MS, interval: 10 });
      expect(await knows('sy_one')).toBeNull();
      expect(await knows('sy_two')).toBe('t2');
      expect(told).toEqual(['t1']);
    });

    it('subscribes once however often it loads, and stop ends following the feed', async () => {
      await tokens.load(storage);
      tokens.stop();
      insertElsewhere('t4', 'four', 'sy_four');
      storage.checkExternal();
      await settle();
      expect(await knows('sy_four')).toBeNull();
      // An explicit reload still reads the file.
      await tokens.reload();
      expect(await knows('sy_four')).toBe('t4');
    });

    it('authenticate waits for the read barrier before it looks a token up: a token another process just created works at once, one it revoked stops', async () => {
      // The barrier (ChangeFeed.fresh, ADR 0012) brings the snapshots up to date; here it is this
      // service's own reload, and no feed is followed, so only the barrier reaches the other commits.
      let barriers = 0;
      const svc: TokenService = new TokenService({
        read: storage.read.tokens,
        audit,
        clock,
        tx: storage.tx,
        fresh: async () => {
          barriers++;
          await svc.reload();
        },
      });
      await svc.load();
      insertElsewhere('t6', 'six', 'sy_six');
      expect((await svc.authenticate('sy_six')).tokenId).toBe('t6');
      revokeElsewhere('t6');
      expect(await refusal(() => svc.authenticate('sy_six'))).toMatchObject({ code: 'unauthorized', status: 401, message: 'The bearer token is unknown or revoked' });
      expect(barriers).toBe(2);
    });

    it("keeps this process's own creations and revocations committed while a reload's query is in flight, and tells each revocation once", async () => {
      // The reload's query answers only when released: it has read the file before the changes below
      // commit (as a slow query on PostgreSQL would), so only the re-applied edits carry them.
      const base = storage.read.tokens;
      let gated = false;
      let queried!: () => void;
      const hasQueried = new Promise<void>((resolve) => (queried = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const svc = new TokenService({
        read: {
          listActive: async () => {
            const rows = await base.listActive();
            if (gated) {
              queried();
              await released;
            }
            return rows;
          },
          get: (id) => base.get(id),
          list: () => base.list(),
          count: () => base.count(),
        },
        audit,
        clock,
        tx: storage.tx,
      });
      await svc.load();
      const old = await svc.create({ name: 'old', role: 'operator' }, admin);
      const told: string[] = [];
      svc.onRevoked((id) => told.push(id));
      gated = true;
      const reloading = svc.reload();
      await hasQueried;
      const made = await svc.create({ name: 'new', role: 'operator' }, admin);
      await svc.revoke(old.id, admin);
      expect(told).toEqual([old.id]);
      release();
      await reloading;
      expect((await svc.authenticate(made.token)).tokenId).toBe(made.id);
      expect(await refusal(() => svc.authenticate(old.token))).toMatchObject({ code: 'unauthorized', message: 'The bearer token is unknown or revoked' });
      // the new token was never revoked, and the old one is told once
      expect(told).toEqual([old.id]);
      // a reload with nothing in flight reads the same from the file, and tells nobody
      gated = false;
      await svc.reload();
      expect((await svc.authenticate(made.token)).tokenId).toBe(made.id);
      expect(await refusal(() => svc.authenticate(old.token))).toMatchObject({ code: 'unauthorized' });
      expect(told).toEqual([old.id]);
    });

    it('a failed reload does not stop the next one: the next reload catches the snapshot up', async () => {
      const base = storage.read.tokens;
      let failures = 1;
      const svc = new TokenService({
        read: {
          listActive: async () => {
            if (failures > 0) {
              failures--;
              throw new Error('the query failed');
            }
            return base.listActive();
          },
          get: (id) => base.get(id),
          list: () => base.list(),
          count: () => base.count(),
        },
        audit,
        clock,
        tx: storage.tx,
      });
      // the first load fails: no token is known, and nothing throws
      await svc.load();
      insertElsewhere('t7', 'seven', 'sy_seven');
      expect(await refusal(() => svc.authenticate('sy_seven'))).toMatchObject({ code: 'unauthorized' });
      await svc.reload();
      expect((await svc.authenticate('sy_seven')).tokenId).toBe('t7');
    });

    it('keeps the last good snapshot when a reload fails', async () => {
      const made = await tokens.create({ name: 'p', role: 'operator' }, admin);
      other.exec('DROP TABLE tokens');
      await tokens.reload();
      expect(await knows(made.token)).toBe(made.id);
    });
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

describe('requireRole, requireTeamAccess and requireServiceAccess', () => {
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
    // SPEC §10.2: the guardrail loop's pauses are told apart from a person's by this name.
    expect(GUARDRAIL_ACTOR).toEqual({ tokenId: 'system', name: 'guardrail', role: 'admin', team: null, approvalRoles: [], service: null });
  });

  it('READERS: every role but a service token may read experiments, decisions and audit', async () => {
    const readers = ROLES.filter((role) => code(() => requireRole(actor(role), READERS, 'read')) === null);
    expect(readers).toEqual(['owner', 'approver', 'governance', 'operator', 'admin']);
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

  it("requireServiceAccess: a service token reads only its own service's flags; every other role reads any", async () => {
    const svc = (service: string | null): Actor => ({ ...actor('service'), service });
    expect(code(() => requireServiceAccess(svc('web'), 'web'))).toBeNull();
    expect(code(() => requireServiceAccess(svc('web'), 'search'))).toBe('forbidden_service: This token reads the flags of service web, not of search');
    // a service actor without a service (no token the rules accept has one) reads nothing
    expect(code(() => requireServiceAccess(svc(null), 'web'))).toBe('forbidden_service: This token reads the flags of service (none), not of web');
    for (const role of ROLES.filter((r) => r !== 'service')) expect(code(() => requireServiceAccess(actor(role), 'search')), role).toBeNull();
  });
});
