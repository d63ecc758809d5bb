import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, startServerProcess } from '../crash/server-process.js';
import { buildLoopingBundle, LOOPS_ALWAYS } from '../helpers/looping-bundle.js';

const ADMIN = 'sy_policy_sigterm_admin_token_0123';

describe('SIGTERM while a looping bundle is being checked', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('the server keeps answering, then exits 0 and answers the dry run 503 shutting_down', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-policy-sigterm-'));
    // A check deadline of ten minutes: only the signal can end this dry run within the test.
    const server = await startServerProcess(path.join(dir, 'sy.db'), ADMIN, {
      SWITCHYARD_LOG_LEVEL: 'info',
      SWITCHYARD_POLICY_CHECK_TIMEOUT_MS: '600000',
    });
    try {
      const dryRun = fetch(`${server.base}/v1/policy?dry_run=true`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/gzip' },
        body: buildLoopingBundle(LOOPS_ALWAYS, 'loops-always'),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as { code: string } }));
      // The check is running once the server says so (log lines are flushed at least every second).
      for (let i = 0; i < 100 && !server.output().includes('checking a policy bundle in a worker'); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(server.output()).toContain('checking a policy bundle in a worker');
      expect((await fetch(`${server.base}/healthz`)).status).toBe(200);

      const exit = server.stop();
      const res = await dryRun;
      expect(res).toMatchObject({ status: 503, body: { code: 'shutting_down' } });
      expect(await exit).toBe(0);
      expect(server.output()).toContain('database closed');
    } finally {
      await server.kill9();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
