/**
 * The client's SSE handling against a stand-in server that misbehaves on demand. The same
 * behaviour against the real server is in stream.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type ClientOptions, type SwitchyardClient } from '../../src/sdk/index.js';
import { demoDocument, FakeSwitchyard, memoryLogger, nextChange } from './sdk-helpers.js';

describe('SDK client stream transport', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(opts: Partial<ClientOptions> = {}) {
    const fake = await FakeSwitchyard.start(demoDocument(1));
    cleanup.push(() => fake.close());
    const logger = memoryLogger();
    const client: SwitchyardClient = createClient({
      baseUrl: fake.base,
      service: 'web',
      token: 'sy_token',
      pollIntervalMs: 60_000,
      reconnect: { initialDelayMs: 10, maxDelayMs: 40 },
      logger,
      ...opts,
    });
    cleanup.push(() => client.close());
    await client.ready();
    return { fake, client, logger };
  }

  /** Contexts that land in the treatment arm of demo_flag. */
  function treated(client: SwitchyardClient): { user_id: string } {
    for (let i = 0; ; i++) {
      const ctx = { user_id: `user-${i}` };
      if (client.evaluate('demo_flag', ctx, '').variant === 'treatment') return ctx;
    }
  }

  it('applies newer documents from the stream and ignores garbled, older and foreign ones', async () => {
    const { fake, client, logger } = await setup();
    const stream = await fake.nextStream();
    expect(stream.headers['last-event-id']).toBe('1');
    expect(stream.headers['authorization']).toBe('Bearer sy_token');
    expect(stream.headers['accept']).toBe('text/event-stream');
    const ctx = treated(client);

    stream.write(': heartbeat\n\n');
    let changed = nextChange(client);
    stream.event(2, JSON.stringify(demoDocument(2, 'v2')));
    expect(await changed).toMatchObject({ version: 2, previousVersion: 1, source: 'stream', changedFlags: ['demo_flag'] });
    expect(client.evaluate('demo_flag', ctx, '')).toMatchObject({ value: 'v2', reason: 'SPLIT' });

    const from = logger.entries.length;
    changed = nextChange(client);
    stream.event(3, 'not json');
    stream.event(1, JSON.stringify(demoDocument(1, 'old')));
    stream.event(9, JSON.stringify({ ...demoDocument(9, 'foreign'), service: 'search' }));
    stream.write('id: 5\ndata: {"service":"web",\ndata: "version":5}\n\n');
    // A valid event split across chunks, as a proxy may deliver it.
    const valid = `id: 4\ndata: ${JSON.stringify(demoDocument(4, 'v4'))}\n\n`;
    stream.write(valid.slice(0, 25));
    stream.write(valid.slice(25));
    // The first document applied after the junk is version 4: nothing in between got through.
    expect(await changed).toMatchObject({ version: 4, previousVersion: 2 });
    expect(client.evaluate('demo_flag', ctx, '').value).toBe('v4');
    const ignored = logger.entries.slice(from).filter((e) => e.level === 'warn' && /^ignored/.test(e.message));
    expect(ignored.map((e) => e.details['problem'] ?? 'older')).toEqual([
      expect.stringMatching(/^not JSON/),
      'older',
      expect.stringMatching(/not "web"/),
      'flags: must be an object',
    ]);
  });

  it('reconnects with Last-Event-ID when the server ends the stream, keeping its answers', async () => {
    const { fake, client } = await setup();
    const first = await fake.nextStream();
    const changed = nextChange(client);
    first.event(7, JSON.stringify(demoDocument(7, 'v7')));
    await changed;
    const ctx = treated(client);

    first.end();
    const second = await fake.nextStream();
    expect(second.headers['last-event-id']).toBe('7');
    expect(client.evaluate('demo_flag', ctx, '').value).toBe('v7');
  });

  it('abandons a silent stream after streamIdleTimeoutMs and reconnects', async () => {
    const { fake, logger } = await setup({ streamIdleTimeoutMs: 150 });
    const first = await fake.nextStream();
    const openedAt = performance.now();
    const from = logger.entries.length;
    const second = await fake.nextStream();
    console.info(`silent stream replaced after ${(performance.now() - openedAt).toFixed(0)} ms (streamIdleTimeoutMs 150)`);
    // The behaviour, not a duration: the client gave the first stream up for its silence (the
    // watchdog's reason, logged before the new stream opened), then resumed from what it holds.
    const lost = logger.entries.slice(from).find((e) => e.message.startsWith('flags stream lost'));
    expect(lost?.details['error'], 'the idle watchdog ended the first stream').toMatch(/silent for 150 ms/);
    await first.closed;
    expect(second.headers['last-event-id']).toBe('1');
  });

  it('close() ends the stream and stops reconnecting', async () => {
    const { fake, client } = await setup();
    const stream = await fake.nextStream();
    await client.close();
    await stream.closed;
    expect(client.connection).toBe('closed');
    expect(fake.connections).toBe(1);
    // Evaluation keeps working on the last state after close.
    expect(client.evaluate('demo_flag', { user_id: 'u' }, '').errorCode).toBeUndefined();
  });
});
