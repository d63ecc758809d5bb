import type { Logger } from '../logger.js';
import type { Lifecycle } from './lifecycle.js';

/**
 * Drives schedule.start / schedule.end and auto_advance of rollouts. State lives in the database (each experiment's due_at), so
 * a restart loses nothing: the first tick, run at start, applies whatever fell due while the
 * process was down. A transition re-checks its state inside its transaction, so it applies once.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly lifecycle: Lifecycle,
    private readonly logger: Logger,
    /** Told how late (ms) the transitions of each tick ran after they fell due. */
    private readonly onLag: (ms: number) => void = () => undefined,
  ) {}

  /** Applies due schedule transitions and due automatic rollout advances (SPEC §10). */
  async tick(): Promise<{ started: string[]; expired: string[]; advanced: string[] }> {
    try {
      const done = await this.lifecycle.tick();
      this.onLag(done.lagMs);
      if (done.started.length || done.expired.length || done.advanced.length) this.logger.info(done, 'scheduled transitions applied');
      if (done.blocked.length) {
        this.logger.warn({ blocked: done.blocked }, 'scheduled starts held back: a flags document would exceed SWITCHYARD_MAX_DOCUMENT_BYTES; retried each tick');
      }
      return done;
    } catch (err) {
      this.logger.error({ err }, 'scheduler tick failed; will retry');
      return { started: [], expired: [], advanced: [] };
    }
  }

  start(intervalMs: number): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
