/** Stops the shared world global-setup.ts started. */
import { rmSync } from 'node:fs';
import { World, worldFile } from './world';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { clusterWorld?: World }).clusterWorld?.stop();
  rmSync(worldFile(), { force: true });
}
