import type { Clock } from '../clock';
import { describeError } from '../errors';
import type { HealthAnswer, HealthRead } from './health-read';

export interface HealthPollerOptions {
  readonly read: HealthRead;
  readonly url: string;
  readonly intervalMs: number;
  readonly clock: Clock;
  /** Every answer, in order; the caller runs the health gate on it. */
  readonly onAnswer: (answer: HealthAnswer) => void;
}

/**
 * Reads the app's health URL every interval (measured from the end of the
 * previous read, so a slow app is not read twice at once) until stopped.
 * A read that throws counts as an error answer: the poller never dies.
 */
export class HealthPoller {
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: HealthPollerOptions) {}

  start(): void {
    if (this.loop || this.controller.signal.aborted) return;
    this.loop = this.run(this.controller.signal);
  }

  /** Final; resolves when a read in flight has settled. Answers after this are dropped. */
  stop(): Promise<void> {
    this.controller.abort(new Error('health polling stopped'));
    return this.loop ?? Promise.resolve();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { clock, intervalMs, read, url, onAnswer } = this.options;
    for (;;) {
      try {
        await clock.sleep(intervalMs, signal);
      } catch {
        return;
      }
      let answer: HealthAnswer;
      try {
        answer = await read(url, signal);
      } catch (error) {
        answer = { result: 'error', detail: describeError(error) };
      }
      if (signal.aborted) return;
      onAnswer(answer);
    }
  }
}
