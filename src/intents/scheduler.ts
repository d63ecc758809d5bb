import type { Logger } from '../logger.js';
import type { Lifecycle } from './lifecycle.js';

/**
 * Drives schedule.start / schedule.end. State lives in the database (each experiment's due_at), so
 * a restart loses nothing: the first tick, run at start, applies whatever fell due while the
 * process was down. A transition re-checks its state inside its transaction, so it applies once.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  /** How late the last tick ran behind the transitions it applied, for the metrics. */
  lastLagMs = 0;

  constructor(
    private readonly lifecycle: Lifecycle,
    private readonly logger: Logger,
  ) {}

  tick(): { started: string[]; expired: string[] } {
    try {
      const done = this.lifecycle.tick();
      if (done.started.length || done.expired.length) this.logger.info(done, 'scheduled transitions applied');
      return done;
    } catch (err) {
      this.logger.error({ err }, 'scheduler tick failed; will retry');
      return { started: [], expired: [] };
    }
  }

  start(intervalMs: number): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
