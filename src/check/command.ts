/**
 * `eureka-drainer check`: reads the cluster (read-only) and lists the pods whose drain would go wrong.
 * Flags in, the report out, an exit code back; reading the cluster is a dependency so a test can give a view.
 */
import { readFlags, usageError, valueFlags } from '../command-line';
import { describeError } from '../errors';
import { DEFAULT_IMAGE } from '../inject/drainer-container';
import { readCluster, type ClusterOptions } from './cluster';
import { PROBLEM_KINDS } from './pod-check';
import { buildReport, formatJson, formatTable, type ClusterView } from './report';
import { NAMESPACES_NEVER_INJECTED } from './scope';

/** Exit codes: 0 nothing found; 1 problems found; 2 bad usage, or the cluster could not be read (or only in part). */
export const CHECK_EXIT = { ok: 0, problems: 1, unchecked: 2 } as const;

/** The flags, for the usage text and the README test. */
export const CHECK_FLAGS = {
  namespace: { flag: '--namespace', short: '-n', help: 'check one namespace (default: all namespaces)' },
  context: { flag: '--context', help: "a context of the kubeconfig (default: its current-context)" },
  kubeconfig: { flag: '--kubeconfig', help: 'a kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the pod\'s service account)' },
  image: { flag: '--image', help: `the drainer image expected (default ${DEFAULT_IMAGE}, this release's)` },
  output: { flag: '--output', short: '-o', help: 'table (default: the problems, one per line) or json (every pod checked)' },
} as const;

export const CHECK_USAGE = `Usage: eureka-drainer check [-n NAMESPACE] [--context NAME] [--kubeconfig FILE] [--image IMAGE] [-o table|json]
  Reads the cluster as kubectl does (read-only: get/list namespaces, pods, and the ConfigMaps the drainers read)
  and lists the pods whose drain would go wrong. It checks every pod with the drainer, and every pod the
  webhook is called for (a namespace labelled eureka-drainer/inject=enabled, or a pod labelled so elsewhere;
  never ${NAMESPACES_NEVER_INJECTED.join(' or ')}). Problems: ${PROBLEM_KINDS.join(', ')}.
${Object.values(CHECK_FLAGS)
  .map((f) => `  ${['short' in f ? `${f.short}, ` : '', f.flag].join('').padEnd(18)}${f.help}`)
  .join('\n')}
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
  const read = readFlags(args, valueFlags(CHECK_FLAGS));
  if (read.kind !== 'flags') return read.kind === 'help' ? 'help' : read;
  const { namespace, context, kubeconfig, image = DEFAULT_IMAGE, output = 'table' } = read.flags;
  const empty = Object.entries(read.flags).find(([, value]) => value === '');
  if (empty) return { problem: `--${empty[0]} needs a value` };
  if (output !== 'table' && output !== 'json') return { problem: `--output must be table or json, got ${JSON.stringify(output.slice(0, 40))}` };
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
