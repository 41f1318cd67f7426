/**
 * `eureka-drainer check`: reads the cluster (read-only) and lists the pods whose drain would go wrong.
 * Flags in, the report out, an exit code back; reading the cluster is a dependency so a test can give a view.
 */
import { flagOptions, readFlags, usageError } from '../command-line';
import { EnvReader, readRows, setting } from '../config/reader';
import { usageTable } from '../config/reference';
import { nonEmpty, oneOf, text } from '../config/rules';
import { describeError } from '../errors';
import { IMAGE_RULE, SHOWN_IMAGE } from '../inject/drainer-defaults';
import { readCluster, type ClusterOptions } from './cluster';
import { PROBLEM_KINDS } from './pod-check';
import { buildReport, formatJson, formatTable, type ClusterView } from './report';
import { NAMESPACES_NEVER_INJECTED } from './scope';

/** Exit codes: 0 nothing found; 1 problems found; 2 bad usage, or the cluster could not be read (or only in part). */
export const CHECK_EXIT = { ok: 0, problems: 1, unchecked: 2 } as const;

/** The flags, as rows of the one config reader (src/config/reader.ts), read from the command line only; `-n` and `-o` as kubectl spells them. */
export const CHECK_SETTINGS = {
  namespace: setting(['--namespace', '-n'], nonEmpty(text(), 'a namespace'), 'check one namespace', { shownDefault: 'all namespaces' }),
  context: setting(['--context'], nonEmpty(text(), 'a context name'), 'a context of the kubeconfig', { shownDefault: "the kubeconfig's current-context" }),
  kubeconfig: setting(['--kubeconfig'], nonEmpty(text(), 'a file name'), 'a kubeconfig file', { shownDefault: "KUBECONFIG, ~/.kube/config, the pod's service account" }),
  image: setting(['--image'], IMAGE_RULE, "the drainer image expected (this release's, or a mirror)", { shownDefault: SHOWN_IMAGE }),
  output: setting(['--output', '-o'], oneOf(['table', 'json'] as const, 'table'), 'table (the problems, one per line) or json (every pod checked)'),
} as const;

export const CHECK_USAGE = `Usage: eureka-drainer check [-n NAMESPACE] [--context NAME] [--kubeconfig FILE] [--image IMAGE] [-o table|json]
  Reads the cluster as kubectl does (read-only: get/list namespaces, pods, and the ConfigMaps the drainers read)
  and lists the pods whose drain would go wrong. It checks every pod with the drainer, and every pod the
  webhook is called for (a namespace labelled eureka-drainer/inject=enabled, or a pod labelled so elsewhere;
  never ${NAMESPACES_NEVER_INJECTED.join(' or ')}). Problems: ${PROBLEM_KINDS.join(', ')}.

${usageTable(Object.values(CHECK_SETTINGS))}

Exit codes: 0 no problem found, 1 problems found, 2 bad usage or the cluster could not be read (or only in part).`;

export interface Out {
  write(text: string): unknown;
}

interface Args {
  readonly cluster: ClusterOptions;
  readonly image: string;
  readonly output: 'table' | 'json';
}

function readArgs(args: readonly string[]): Args | { readonly problem: string } | 'help' {
  const read = readFlags(args, flagOptions(Object.values(CHECK_SETTINGS)));
  if (read.kind !== 'flags') return read.kind === 'help' ? 'help' : read;
  const reader = new EnvReader({}, undefined, read.flags);
  const { namespace, context, kubeconfig, image, output } = readRows(reader, CHECK_SETTINGS);
  if (reader.problems.length > 0) return { problem: reader.problems.join('; ') };
  const cluster: ClusterOptions = { ...(namespace !== undefined && { namespace }), ...(context !== undefined && { context }), ...(kubeconfig !== undefined && { kubeconfig }) };
  return { cluster, image, output };
}

/** Runs the command; resolves to the exit code. */
export async function runCheck(
  args: readonly string[],
  stdout: Out,
  stderr: Out,
  read: (options: ClusterOptions) => Promise<ClusterView> = readCluster,
): Promise<number> {
  const parsed = readArgs(args);
  if (parsed === 'help') {
    stdout.write(`${CHECK_USAGE}\n`);
    return CHECK_EXIT.ok;
  }
  if ('problem' in parsed) {
    stderr.write(usageError('check', parsed.problem, CHECK_USAGE));
    return CHECK_EXIT.unchecked;
  }
  let view: ClusterView;
  try {
    view = await read(parsed.cluster);
  } catch (error) {
    stderr.write(`eureka-drainer check: ${describeError(error, 1000)}\n`);
    return CHECK_EXIT.unchecked;
  }
  const report = buildReport(view, parsed.image);
  stdout.write(`${parsed.output === 'json' ? formatJson(report) : formatTable(report)}\n`);
  if (report.problemCount > 0) return CHECK_EXIT.problems;
  return report.warnings.length > 0 ? CHECK_EXIT.unchecked : CHECK_EXIT.ok;
}
