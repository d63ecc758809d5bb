import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const SENDER = fileURLToPath(new URL('../../src/sdk/telemetry.ts', import.meta.url));

/**
 * Telemetry must never keep a process alive: a buffered partial batch (waiting for its flush
 * timer) and a batch waiting to be retried must both let Node exit on its own.
 */
it('lets the process exit while a batch waits for its flush timer or for a retry', async () => {
  const script = `
    import { TelemetrySender } from ${JSON.stringify(SENDER)};
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    const hour = 3_600_000;
    // Port 9 (discard) refuses on loopback: the send fails and waits an hour to retry.
    const url = 'http://127.0.0.1:9/v1/services/web/telemetry';
    const waiting = new TelemetrySender({ url, token: 't', logger: log, flushIntervalMs: hour });
    const retrying = new TelemetrySender({ url, token: 't', logger: log, batchSize: 1, retryBaseDelayMs: hour, maxRetryDelayMs: hour });
    waiting.metric('m', 'u-1', 1);
    retrying.metric('m', 'u-2', 1);
    process.on('exit', () => console.log(JSON.stringify({ waiting: waiting.stats(), retrying: retrying.stats() })));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // Safety net only: a process kept alive by a timer would never exit on its own.
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(killer);
  expect(err).toBe('');
  expect(code).toBe(0);
  const stats = JSON.parse(out) as Record<string, Record<string, number>>;
  // Both still held their event when the process ended: it exited while they were waiting.
  expect(stats['waiting']).toMatchObject({ queued: 1, buffered: 1, sent: 0, failed: 0 });
  expect(stats['retrying']).toMatchObject({ queued: 1, buffered: 1, sent: 0, failed: 0 });
}, 30_000);
