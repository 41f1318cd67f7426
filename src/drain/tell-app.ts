import type { AppExitResult } from '../app-exit';
import type { DrainDeps } from './deps';
import type { DrainRecord } from './record';
import { bounded } from './until';

/** Even a drain cut short must still tell the app to go: give the call this long past the deadline, inside the process's own life. */
const LATE_CALL_MS = 1_000;

/**
 * Step 6: tell the app to exit (DRAINER_APP_EXIT), bounded by the deadline:
 * a slow shutdown endpoint must not hold /prestop past it. Marks the drain
 * cut short when the call could not finish in time.
 */
export async function tellApp(deps: DrainDeps, record: DrainRecord): Promise<AppExitResult> {
  const { clock } = deps;
  const until = Math.min(record.exitDeadline, Math.max(record.deadline, clock.now() + LATE_CALL_MS));
  let timedOut = false;
  const result = await bounded(clock, until, undefined, (signal) =>
    Promise.race([
      deps.appExit(signal).catch((error: unknown) => ({ strategy: deps.config.appExit, ok: false, detail: String(error) })),
      new Promise<AppExitResult>((resolve) =>
        signal.addEventListener(
          'abort',
          () => {
            timedOut = true;
            resolve({ strategy: deps.config.appExit, ok: false, detail: `no answer before the deadline (${new Date(until).toISOString()})` });
          },
          { once: true },
        ),
      ),
    ]),
  );
  if (timedOut || clock.now() > record.deadline) record.cutShort = true;
  if (!result.ok) record.problems.push(`app exit (${result.strategy}): ${result.detail}`);
  return result;
}
