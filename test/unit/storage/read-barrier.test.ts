/**
 * The read barrier's rules (ADR 0012), on a source whose counter queries the test answers by hand:
 * what must hold whatever the timing, which the three-instance tests (test/multi/read-barrier.test.ts)
 * cannot pin down. The database itself is exercised there.
 */
import { describe, expect, it } from 'vitest';
import { ReadBarrier, type ReadBarrierSource } from '../../../src/storage/read-barrier.js';

/** A source whose every counter query waits until the test answers it. */
function scripted() {
  const pending: { resolve: (n: number) => void; reject: (e: Error) => void }[] = [];
  let refreshes = 0;
  let failRefresh = false;
  const source: ReadBarrierSource = {
    counter: () => new Promise<number>((resolve, reject) => pending.push({ resolve, reject })),
    refresh: async () => {
      refreshes++;
      if (failRefresh) throw new Error('reload failed');
    },
  };
  return {
    source,
    pending,
    get refreshes() {
      return refreshes;
    },
    set failRefresh(v: boolean) {
      failRefresh = v;
    },
  };
}

/** Whether `p` has settled, after every promise already due has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((r) => setImmediate(r));
  return done;
}

/** Until the n-th counter query has been asked (bounded: the query starts a few microtasks after a round does). */
async function asked(s: ReturnType<typeof scripted>, n: number): Promise<void> {
  for (let i = 0; i < 100 && s.pending.length < n; i++) await new Promise<void>((r) => setImmediate(r));
  expect(s.pending.length).toBe(n);
}

describe('ReadBarrier', () => {
  it('a read does not share a counter query that started before it arrived', async () => {
    const s = scripted();
    const barrier = new ReadBarrier(s.source, 60_000);
    const first = barrier.wait();
    await asked(s, 1);
    const second = barrier.wait(); // arrives while the first query is in flight
    s.pending[0]!.resolve(0);
    expect(await settled(first)).toBe(true);
    // The first query may have been read before the write this reader was told of: not enough for it.
    expect(await settled(second)).toBe(false);
    await asked(s, 2);
    s.pending[1]!.resolve(0);
    expect(await settled(second)).toBe(true);
  });

  it('at most one query in flight and one queued, whatever the number of reads', async () => {
    const s = scripted();
    const barrier = new ReadBarrier(s.source, 60_000);
    const batch1 = Array.from({ length: 500 }, () => barrier.wait());
    await asked(s, 1);
    const batch2 = Array.from({ length: 500 }, () => barrier.wait());
    expect(s.pending).toHaveLength(1);
    s.pending[0]!.resolve(0);
    await Promise.all(batch1);
    await asked(s, 2);
    s.pending[1]!.resolve(0);
    await Promise.all(batch2);
    expect(barrier.stats.rounds).toBe(2);
    // Nothing was written: no refresh.
    expect(s.refreshes).toBe(0);
  });

  it('refreshes when the counter is ahead of the snapshots, and only then; its own commit counts', async () => {
    const s = scripted();
    const barrier = new ReadBarrier(s.source, 60_000);
    const read = async (n: number) => {
      const w = barrier.wait();
      await asked(s, s.pending.length + 1);
      s.pending.at(-1)!.resolve(n);
      await w;
    };
    await read(3);
    expect(s.refreshes).toBe(1);
    await read(3);
    expect(s.refreshes).toBe(1);
    // This process committed unit 4 (its snapshots took it in at commit): no refresh for it.
    barrier.committed(4);
    await read(4);
    expect(s.refreshes).toBe(1);
    // Unit 6 was ours but 5 was someone else's: the snapshots are not known to hold 5.
    barrier.committed(6);
    await read(6);
    expect(s.refreshes).toBe(2);
  });

  it('a refresh that failed is not counted: the next read refreshes again', async () => {
    const s = scripted();
    const barrier = new ReadBarrier(s.source, 60_000);
    s.failRefresh = true;
    const w1 = barrier.wait();
    await asked(s, 1);
    s.pending[0]!.resolve(7);
    await w1;
    s.failRefresh = false;
    const w2 = barrier.wait();
    await asked(s, 2);
    s.pending[1]!.resolve(7);
    await w2;
    expect(s.refreshes).toBe(2);
  });

  it('a query that does not answer holds a read only for the bound; while it fails, reads do not wait at all', async () => {
    const s = scripted();
    const barrier = new ReadBarrier(s.source, 20);
    // Never answered: the read is let go after the bound (a real timer), served from the snapshot.
    await barrier.wait();
    // That round is still in flight; it fails now.
    s.pending[0]!.reject(new Error('connection refused'));
    await asked(s, 1);
    for (let i = 0; i < 50 && barrier.stats.failures === 0; i++) await new Promise<void>((r) => setImmediate(r));
    expect(barrier.stats.failures).toBe(1);
    // The database is known to be failing: a read is answered at once, yet a round is asked for.
    const fast = barrier.wait();
    expect(await settled(fast)).toBe(true);
    await asked(s, 2);
    // It answers: reads wait for the barrier again.
    s.pending[1]!.resolve(0);
    for (let i = 0; i < 50 && barrier.stats.rounds < 2; i++) await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    const waits = barrier.wait();
    await asked(s, 3);
    expect(await settled(waits)).toBe(false);
    s.pending[2]!.resolve(0);
    await waits;
  });

  it('the lease: a successful round vouches for the reads that arrive within leaseMs of when its query was SENT, not answered', async () => {
    const s = scripted();
    let t = 0;
    const barrier = new ReadBarrier(s.source, 60_000, 10, () => t);
    const first = barrier.wait();
    await asked(s, 1);
    t = 8; // the answer comes 8 ms after the query was sent
    s.pending[0]!.resolve(0);
    await first;
    t = 9.9;
    expect(await settled(barrier.wait())).toBe(true);
    expect(s.pending.length).toBe(1);
    expect(barrier.stats.leased).toBe(1);
    // 10 ms after the query was sent (2 ms after its answer): the lease is over, the read waits for a round.
    t = 10;
    const late = barrier.wait();
    await asked(s, 2);
    expect(await settled(late)).toBe(false);
    s.pending[1]!.resolve(0);
    await late;
    expect(barrier.stats.leased).toBe(1);
  });

  it('the lease: a round that failed or overran the bound vouches for nothing; without a lease (0) every read has its round', async () => {
    const s = scripted();
    let t = 0;
    const barrier = new ReadBarrier(s.source, 20, 1000, () => t);
    const failed = barrier.wait();
    await asked(s, 1);
    s.pending[0]!.reject(new Error('connection refused'));
    await failed;
    for (let i = 0; i < 50 && barrier.stats.failures === 0; i++) await new Promise<void>((r) => setImmediate(r));
    // Failing: answered at once (fail static), but not under a lease: a round is asked for.
    await barrier.wait();
    await asked(s, 2);
    expect(barrier.stats.leased).toBe(0);
    // A round that overran the bound (a real 20 ms timer) does not vouch either.
    t = 1;
    await new Promise<void>((r) => setTimeout(r, 40));
    s.pending[1]!.resolve(0);
    for (let i = 0; i < 50 && barrier.stats.failures < 2; i++) await new Promise<void>((r) => setImmediate(r));
    expect(barrier.stats.failures).toBe(2);
    void barrier.wait();
    await asked(s, 3);
    expect(barrier.stats.leased).toBe(0);

    const none = scripted();
    const unleased = new ReadBarrier(none.source, 60_000, 0, () => 0);
    const one = unleased.wait();
    await asked(none, 1);
    none.pending[0]!.resolve(0);
    await one;
    const two = unleased.wait();
    await asked(none, 2);
    expect(await settled(two)).toBe(false);
    none.pending[1]!.resolve(0);
    await two;
  });
});
