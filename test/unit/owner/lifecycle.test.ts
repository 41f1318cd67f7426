import { INITIAL_REGISTRATION, isRegistered, nextRegistration, resumeBy, type RegistrationEvent, type RegistrationState } from '../../../src/owner/lifecycle';

const run = (...events: RegistrationEvent[]): RegistrationState => events.reduce(nextRegistration, INITIAL_REGISTRATION);
const A = 'http://eureka-a/eureka/';
const B = 'http://eureka-b/eureka/';

describe('owner registration lifecycle (table)', () => {
  test.each<[string, RegistrationEvent[], { phase: RegistrationState['phase']; registered: boolean; resume: ReturnType<typeof resumeBy> }]>([
    ['a fresh registrar', [], { phase: 'idle', registered: false, resume: 'start' }],
    ['started, waiting for the app', [{ type: 'start' }], { phase: 'running', registered: false, resume: 'nothing' }],
    ['registered on one server', [{ type: 'start' }, { type: 'accepted', server: A }], { phase: 'running', registered: true, resume: 'nothing' }],
    ['stopped before any server took it', [{ type: 'start' }, { type: 'stop' }], { phase: 'idle', registered: false, resume: 'start' }],
    ['stopped by the drain: still held until cancelled', [{ type: 'start' }, { type: 'accepted', server: A }, { type: 'stop' }], { phase: 'idle', registered: true, resume: 'register_again' }],
    [
      'the drain cancelled it on one of two servers',
      [{ type: 'start' }, { type: 'accepted', server: A }, { type: 'accepted', server: B }, { type: 'stop' }, { type: 'cancelled', server: A }],
      { phase: 'idle', registered: true, resume: 'register_again' },
    ],
    [
      'the drain cancelled it everywhere',
      [{ type: 'start' }, { type: 'accepted', server: A }, { type: 'accepted', server: B }, { type: 'stop' }, { type: 'cancelled', server: A }, { type: 'cancelled', server: B }],
      { phase: 'idle', registered: false, resume: 'register_again' },
    ],
    ['a registration landing after the stop does not count', [{ type: 'start' }, { type: 'stop' }, { type: 'accepted', server: A }], { phase: 'idle', registered: false, resume: 'start' }],
    ['resumed and registered again', [{ type: 'start' }, { type: 'accepted', server: A }, { type: 'stop' }, { type: 'cancelled', server: A }, { type: 'start' }, { type: 'accepted', server: A }], { phase: 'running', registered: true, resume: 'nothing' }],
    ['closed', [{ type: 'start' }, { type: 'accepted', server: A }, { type: 'stop' }, { type: 'close' }], { phase: 'closed', registered: true, resume: 'refuse' }],
    ['nothing starts a closed registrar', [{ type: 'close' }, { type: 'start' }, { type: 'stop' }], { phase: 'closed', registered: false, resume: 'refuse' }],
  ])('%s', (_name, events, expected) => {
    const state = run(...events);
    expect({ phase: state.phase, registered: isRegistered(state), resume: resumeBy(state) }).toEqual(expected);
  });

  test('a server accepting twice is held once: one cancel releases it', () => {
    const state = run({ type: 'start' }, { type: 'accepted', server: A }, { type: 'accepted', server: A }, { type: 'cancelled', server: A });
    expect(isRegistered(state)).toBe(false);
  });
});
