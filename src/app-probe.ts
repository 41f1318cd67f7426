import { connect } from 'node:net';

export type PortState = 'open' | 'closed' | 'unknown';

/**
 * Is the app still listening? A refused connection is proof it is gone; a
 * timeout proves nothing (an overloaded app may be slow to accept).
 */
export function probePort(host: string, port: number, timeoutMs = 1_000): Promise<PortState> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (state: PortState): void => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(timeoutMs, () => done('unknown'));
    socket.once('connect', () => done('open'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'closed' : 'unknown'));
  });
}
