/**
 * The read barrier (ADR 0012, SPEC §11 "a write acknowledged by one instance is seen by reads on
 * every instance at once"), in the manner of etcd's ReadIndex: before a read is answered from this
 * process's snapshots, the process learns the database's change counter with one cheap query and,
 * if its snapshots are older than that, refreshes them first.
 *
 * - **Coalesced.** A read shares a round only with a round whose query is SENT after the read arrived
 *   (a round that started earlier may have read the counter before the write the reader was told
 *   about). So there is at most one round in flight and one queued, whatever the load: every read
 *   that arrives while a round runs waits for the queued one, which starts when the running one ends.
 *   With no write anywhere, a round costs one query, shared by its whole batch of reads.
 * - **Bounded.** A read waits for its round at most `boundMs`; then (or at once if the round
 *   fails) it is served from the snapshot: fail static. While the database is known to be failing
 *   (the last round failed or overran the bound), reads do not wait at all; a round still runs per
 *   batch, and the first one that succeeds in time restores the waiting.
 * - **Own commits.** `committed(n)` after this process's own unit (counter n) committed and its
 *   snapshots took it in: if the snapshots were at n − 1 they are at n now, so a read after one's
 *   own write does not refresh.
 * - **Lease** (`leaseMs`, 0: none). A round whose query was sent less than `leaseMs` before a read
 *   arrived, and that succeeded, vouches for that read: the read is answered at once, with no
 *   query. Sound because every unit of work waits `leaseMs` after its COMMIT before it is
 *   acknowledged (the commit wait: `commitWait`, which `PostgresStorage.run` awaits): a write acknowledged before the read
 *   arrived committed more than `leaseMs` before it, so before the vouching query was sent, which
 *   therefore saw it. Only durations on each process's monotonic clock are compared, never two
 *   clocks' readings.
 */
export interface ReadBarrierSource {
  /** The database's change counter now (committed units only). */
  counter(): Promise<number>;
  /** Brings every snapshot up to at least the state the counter just read stands for; rejects if it could not. */
  refresh(): Promise<void>;
}

interface Round {
  /** Whether its counter query has been sent (a read arriving before that may still share it). */
  started: boolean;
  /** Settles when the round is over (never rejects). */
  done: Promise<void>;
  /** Settles when the round is over or `boundMs` after the first read that queued for it. */
  bounded: Promise<void>;
}

export interface ReadBarrierStats {
  /** Counter queries made (rounds). */
  rounds: number;
  /** Rounds that found the snapshots behind and refreshed them. */
  refreshes: number;
  /** Rounds that failed or overran the bound. */
  failures: number;
  /** Reads answered under the lease, with no round. */
  leased: number;
}

export class ReadBarrier {
  /** The counter every snapshot is known to include. */
  private applied = 0;
  /** When the query of the last round that succeeded within the bound was sent (`now()`), if any. */
  private vouchedSince = -Infinity;
  private running: Round | undefined;
  private queued: (Round & { start: () => void }) | undefined;
  /** Whether reads wait (false while the database fails or is slower than the bound). */
  private healthy = true;
  readonly stats: ReadBarrierStats = { rounds: 0, refreshes: 0, failures: 0, leased: 0 };

  constructor(
    private readonly source: ReadBarrierSource,
    readonly boundMs: number,
    /** How long a successful round vouches for the reads after its query was sent (see Lease above); 0: none. */
    readonly leaseMs = 0,
    /** A monotonic clock in ms (tests drive it by hand); the commit wait reads it too. */
    readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The commit wait (see Lease above): resolves `leaseMs` after `committedAt` (read from `now()`
   * when the unit's COMMIT returned), so no lease that began before the commit outlives it once
   * the write is acknowledged.
   */
  commitWait(committedAt: number): Promise<void> {
    const left = committedAt + this.leaseMs - this.now();
    return left > 0 ? new Promise<void>((r) => setTimeout(r, Math.ceil(left))) : Promise.resolve();
  }

  /**
   * Resolves when the snapshots are at least as new as the database was when this was called, or
   * after the bound, or at once while the database is failing or a recent round vouches for them
   * (the lease). Never rejects.
   */
  wait(): Promise<void> {
    if (this.now() - this.vouchedSince < this.leaseMs) {
      this.stats.leased++;
      return Promise.resolve();
    }
    const round = this.next();
    return this.healthy ? round.bounded : Promise.resolve();
  }

  /**
   * Another process committed (a notification): the round after now, which reloads the snapshots
   * if the counter moved; not awaited. A burst of notifications costs at most two rounds at a time,
   * as a burst of reads does.
   */
  kick(): void {
    void this.next();
  }

  /** The snapshots were reloaded after the counter read `n` (a notification's reload, not a read's round). */
  caughtUp(n: number): void {
    if (n > this.applied) this.applied = n;
  }

  /** This process's own unit committed as counter `n`, and its after-commit callbacks ran. */
  committed(n: number): void {
    if (this.applied === n - 1) this.applied = n;
  }

  /** The round that starts after now: the queued one (made if need be), or a new one if none runs. */
  private next(): Round {
    if (!this.running) {
      const round = this.round();
      this.running = round;
      round.start();
      return round;
    }
    if (!this.running.started) return this.running;
    this.queued ??= this.round();
    return this.queued;
  }

  /** A round that runs once `start` is called (a microtask later, so `running` is always set first). */
  private round(): Round & { start: () => void } {
    let start!: () => void;
    const go = new Promise<void>((resolve) => (start = resolve));
    const round: Round & { start: () => void } = { start, started: false, done: Promise.resolve(), bounded: Promise.resolve() };
    round.done = go.then(() => this.execute(round));
    round.bounded = this.bound(round.done);
    return round;
  }

  /** One counter query, and a refresh if the snapshots are behind it; then the queued round, if any, starts. */
  private async execute(round: Round): Promise<void> {
    this.stats.rounds++;
    round.started = true;
    const sent = this.now();
    let overran = false;
    const timer = setTimeout(() => (overran = true), this.boundMs);
    timer.unref();
    try {
      const n = await this.source.counter();
      if (n > this.applied) {
        this.stats.refreshes++;
        await this.source.refresh();
        if (n > this.applied) this.applied = n;
      }
      this.healthy = !overran;
      if (overran) this.stats.failures++;
      else if (sent > this.vouchedSince) this.vouchedSince = sent;
    } catch {
      this.healthy = false;
      this.stats.failures++;
    } finally {
      clearTimeout(timer);
      this.advance();
    }
  }

  private advance(): void {
    const q = this.queued;
    this.queued = undefined;
    this.running = q;
    q?.start();
  }

  private bound(done: Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.boundMs);
      timer.unref();
      void done.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
