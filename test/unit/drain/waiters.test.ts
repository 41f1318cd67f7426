import { describe, expect, test } from '@jest/globals';
import { Waiters } from '../../../src/drain/waiters';
import { ManualClock } from '../../helpers/manual-clock';

describe('Waiters', () => {
  test('a wake gives its value to everyone waiting, and stops their timers', async () => {
    const clock = new ManualClock();
    const waiters = new Waiters<string>(clock);
    const first = waiters.next(5_000);
    const second = waiters.next();
    expect(clock.sleeping).toBe(1);
    waiters.wake('started');
    await expect(Promise.all([first, second])).resolves.toEqual(['started', 'started']);
    expect(clock.sleeping).toBe(0);
  });

  test('a wait that runs out gives undefined, and a later wake does not reach it', async () => {
    const clock = new ManualClock();
    const waiters = new Waiters<string>(clock);
    const waited = waiters.next(5_000);
    await clock.advance(4_999);
    waiters.wake('early');
    await expect(waited).resolves.toBe('early');
    const late = waiters.next(1_000);
    await clock.advance(1_000);
    await expect(late).resolves.toBeUndefined();
    waiters.wake('too late');
    expect(clock.sleeping).toBe(0);
  });
});
