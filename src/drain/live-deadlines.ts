import { deadlinesOf, earlierEnd, type DeadlineRules, type Deadlines } from './deadlines';
import type { MovingTime } from './until';

/**
 * One drain's deadlines, live. The start of the grace period and of the drain
 * are fixed when the drain begins; the pod's end can be learnt later, and
 * earlier (controller.ts learnGraceEnd). Steps never copy a deadline: they
 * read `current()` when they decide, and wait with `time(pick)`, which tells
 * their timers (until.ts) each time the deadlines move.
 */
export class LiveDeadlines {
  private podEndsAt: number | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly rules: DeadlineRules,
    private readonly since: number,
    private readonly drainStartedAt: number,
    podEndsAt?: number,
  ) {
    this.podEndsAt = podEndsAt;
  }

  current(): Deadlines {
    return deadlinesOf(this.rules, { since: this.since, drainStartedAt: this.drainStartedAt, podEndsAt: this.podEndsAt });
  }

  /** Kubernetes says the pod ends at `at`. Only ever earlier; every wait in progress follows. True when the deadlines moved. */
  learnPodEnd(at: number): boolean {
    const before = this.current();
    this.podEndsAt = earlierEnd(this.podEndsAt, at);
    const after = this.current();
    if (after.answerBy === before.answerBy && after.exitBy === before.exitBy && after.takeOutBy === before.takeOutBy) return false;
    for (const moved of [...this.listeners]) moved();
    return true;
  }

  /** One of the deadlines (or a time made from them, e.g. the earlier of a cutoff and the drain's deadline), as a time that moves with them. */
  time(pick: (deadlines: Deadlines) => number): MovingTime {
    return {
      at: () => pick(this.current()),
      watch: (moved) => {
        this.listeners.add(moved);
        return () => this.listeners.delete(moved);
      },
    };
  }
}
