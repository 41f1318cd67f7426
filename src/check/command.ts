/**
 * `eureka-drainer check`: reads the cluster (read-only) and lists the pods whose drain would go wrong.
 * Flags in, the report out, an exit code back; reading the cluster is a dependency so a test can give a view.
 */
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

function parseArgs(args: readonly string[]): Args | { readonly problem: string } | 'help' {
  const cluster: { -readonly [K in keyof ClusterOptions]: ClusterOptions[K] } = {};
  let image = DEFAULT_IMAGE;
  let output: 'table' | 'json' = 'table';
  const known = Object.values(CHECK_FLAGS).flatMap((f): string[] => ['short' in f ? f.short : f.flag, f.flag]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '-h' || flag === '--help') return 'help';
    if (!known.includes(flag)) return { problem: `unknown argument ${JSON.stringify(arg.slice(0, 40))}` };
    const value = inline ?? args[++i];
    if (value === undefined || value === '') return { problem: `${flag} needs a value` };
    if (flag === CHECK_FLAGS.namespace.flag || flag === CHECK_FLAGS.namespace.short) cluster.namespace = value;
    else if (flag === CHECK_FLAGS.context.flag) cluster.context = value;
    else if (flag === CHECK_FLAGS.kubeconfig.flag) cluster.kubeconfig = value;
    else if (flag === CHECK_FLAGS.image.flag) image = value;
    // What is left is --output / -o.
    else if (value === 'table' || value === 'json') output = value;
    else return { problem: `${flag} must be table or json, got ${JSON.stringify(value.slice(0, 40))}` };
  }
  return { cluster, image, output };
}

/** Runs the command; resolves to the exit code. */
export async function runCheck(
  args: readonly string[],
  stdout: Out,
  stderr: Out,
  read: (options: ClusterOptions) => Promise<ClusterView> = readCluster,
): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === 'help') {
    stdout.write(`${CHECK_USAGE}\n`);
    return CHECK_EXIT.ok;
  }
  if ('problem' in parsed) {
    stderr.write(`eureka-drainer check: ${parsed.problem}\n\n${CHECK_USAGE}\n`);
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
