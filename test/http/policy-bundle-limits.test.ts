import fs from 'node:fs';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Api, type TestServer } from '../helpers/harness.js';
import { BUNDLE_PATH } from '../helpers/paths.js';

const gzip = { 'content-type': 'application/gzip' };

/** The shipped bundle with its .manifest replaced: same wasm and data, so the same revision. */
async function withManifest(manifest: (old: Record<string, unknown>) => Record<string, unknown>): Promise<Buffer> {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      let body = Buffer.concat(chunks);
      if (header.name.replace(/^\//, '') === '.manifest') body = Buffer.from(JSON.stringify(manifest(JSON.parse(body.toString('utf8')))));
      pack.entry({ name: header.name, mode: header.mode }, body, next);
    });
  });
  extract.on('finish', () => pack.finalize());
  extract.end(zlib.gunzipSync(fs.readFileSync(BUNDLE_PATH)));
  const out: Buffer[] = [];
  for await (const c of pack) out.push(c as Buffer);
  return zlib.gzipSync(Buffer.concat(out));
}

describe('bundle limits and the stored manifest', () => {
  let s: TestServer;
  let gov: Api;

  beforeAll(async () => {
    s = await startServer();
    gov = await s.token({ name: 'gina', role: 'governance' });
  });
  afterAll(async () => s.close());

  it('a re-published bundle keeps its new manifest across a restart', async () => {
    const before = (await gov.get('/v1/policy')).body;
    const res = await gov.put('/v1/policy', await withManifest((m) => ({ ...m, revision: 'republished-2' })), gzip);
    expect(res.status).toBe(200);
    expect(res.body.revision).toBe(before.revision);
    expect((await gov.get('/v1/policy')).body.manifest_revision).toBe('republished-2');
    await s.restart();
    expect((await gov.get('/v1/policy')).body).toMatchObject({ revision: before.revision, manifest_revision: 'republished-2' });
  });

  it('a manifest over 64 KiB is refused as policy_invalid, naming it, and nothing is audited', async () => {
    const audited = (await s.api.get('/v1/audit?type=policy_activated')).body.events.length;
    const res = await gov.put('/v1/policy', await withManifest((m) => ({ ...m, revision: 'r'.repeat(70 * 1024) })), gzip);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('policy_invalid');
    expect(res.body.detail).toMatch(/\.manifest is \d+ bytes; at most 64 KiB/);
    expect((await s.api.get('/v1/audit?type=policy_activated')).body.events.length).toBe(audited);
    expect((await gov.get('/v1/policy')).body.manifest_revision).toBe('republished-2');
  });

  it('a gzip bomb is refused as too large, not as a broken gzip file', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(129 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const res = await gov.put('/v1/policy?dry_run=true', bomb, gzip);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(res.body.detail).toBe('The decompressed bundle exceeds 128 MiB');
  });
});
