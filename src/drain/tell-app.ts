import type { AppExitResult } from '../app-exit';
import { iso } from './report';
import { lateCallBy } from './deadlines';
import type { DrainDeps } from './deps';
import type { LiveDeadlines } from './live-deadlines';
import { bounded } from './until';

/** What telling the app did, and whether the call ran past the drain's deadline. */
export interface AppTold {
  readonly result: AppExitResult;
  readonly cutShort: boolean;
}

/**
 * Step 6: tell the app to exit (DRAINER_APP_EXIT), bounded by the deadline
 * plus the late-call allowance (deadlines.ts lateCallBy, followed if the
 * deadline moves during the call): a slow shutdown endpoint must not hold
 * /prestop past it. Cut short when the call could not finish in time.
 */
export async function tellApp(deps: DrainDeps, deadlines: LiveDeadlines): Promise<AppTold> {
  const { clock } = deps;
  const calledAt = clock.now();
  const until = deadlines.time((d) => lateCallBy(d, calledAt));
  let timedOut = false;
  const result = await bounded(clock, until, undefined, (signal) =>
    Promise.race([
      deps.appExit(signal).catch((error: unknown) => ({ strategy: deps.config.appExit, ok: false, detail: String(error) })),
      new Promise<AppExitResult>((resolve) =>
        signal.addEventListener(
          'abort',
          () => {
            timedOut = true;
            resolve({ strategy: deps.config.appExit, ok: false, detail: `no answer before the deadline (${iso(until.at())})` });
          },
          { once: true },
        ),
      ),
    ]),
  );
  return { result, cutShort: timedOut || clock.now() > deadlines.current().answerBy };
}
