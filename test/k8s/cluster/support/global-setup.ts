/** Starts the world every cluster test file shares (world.ts) once per run. */
import { assertInCluster } from './kube';
import { World } from './world';

export default async function globalSetup(): Promise<void> {
  assertInCluster();
  const world = await World.start();
  world.publish();
  (globalThis as { clusterWorld?: World }).clusterWorld = world;
}
