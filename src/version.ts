/**
 * This release's version, read from package.json: the one place it is written. `--version`, the start-up log
 * line, the injector's default image and its `eureka-drainer/injected` annotation all take it from here; the
 * files that cannot read package.json (the k8s/ manifests, the README, docker/Dockerfile) are held to it by
 * test/unit/version.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VersionError } from './errors';

/**
 * package.json is one folder above this file's: src/ under ts-jest, dist/ in the npm package and in the image
 * (/app/dist, beside /app/package.json), so both ship it and neither needs a copy of the version.
 */
export const PACKAGE_JSON = join(__dirname, '..', 'package.json');

/** A release version as npm writes it: major.minor.patch and an optional pre-release (`0.2.0-rc.1`). */
const VERSION_SHAPE = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** The version a package.json's text declares; bad text is an error naming the file and what is wrong. */
export function versionOf(text: string, file: string): string {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new VersionError(`${file} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const version = typeof manifest === 'object' && manifest !== null ? (manifest as { version?: unknown }).version : undefined;
  if (typeof version !== 'string' || !VERSION_SHAPE.test(version)) {
    throw new VersionError(`${file} must declare "version" as major.minor.patch[-pre-release], got ${JSON.stringify(version)}`);
  }
  return version;
}

/** The version in the package.json at `file`; a missing or unreadable file is an error naming it. */
export function readVersion(file: string, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): string {
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    throw new VersionError(`cannot read the version from ${file} (the package ships it beside dist/): ${(error as Error).message}`, { cause: error });
  }
  return versionOf(text, file);
}

/** Read once, when first imported: every command needs it, and a package without it cannot say what it injects. */
export const VERSION = readVersion(PACKAGE_JSON);
