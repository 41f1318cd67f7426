/**
 * `eureka-drainer inject`: YAML in (a file or stdin, several documents, List objects too), the same YAML out
 * with the drainer injected into every opted-in workload, and one line per workload on stderr saying what was
 * done or why not. Documents that are not changed are written out byte for byte as they came in; a changed
 * document is edited in place (only the nodes that changed are set), so its comments stay too.
 */
import { readFileSync } from 'node:fs';
import { text as streamText } from 'node:stream/consumers';
import type { ParseArgsOptionsConfig } from 'node:util';
import YAML, { type Document } from 'yaml';
import { flagOptions, readFlags, usageError } from '../command-line';
import { EnvReader, setting, type Variable } from '../config/reader';
import { usageTable } from '../config/reference';
import { nonEmpty, text } from '../config/rules';
import { ANNOTATIONS } from './annotations';
import { DRAINER_DEFAULT_SETTINGS, readInjectDefaults } from './drainer-defaults';
import { injectWorkload, type InjectDefaults, type InjectResult } from './inject';
import { annotationsOf, describeObject, isObject, workloadKind, type Json } from './workload';

/** Where the YAML comes from; `-` or none: stdin. */
const FILENAME = setting(['--filename', '-f'], nonEmpty(text(), 'a file name, or - for stdin'), 'the YAML to read', { shownDefault: '- (stdin)' });

/** The rows as --help shows them: flags only, since the CLI reads no environment (the webhook's variables are its own). */
const flagsOnly = (row: Variable<unknown>): Variable<unknown> => ({ ...row, names: row.names.filter((name) => name.startsWith('-')) });

export const INJECT_USAGE = `Usage: eureka-drainer inject [-f FILE|-] [--image IMAGE] [--sidecar native|classic] [--drainer-port PORT]
                             [--drainer-resources JSON] [--drainer-env JSON] [--drainer-token-file FILE]
  Reads Kubernetes YAML (several documents, List objects too) from FILE or stdin and writes it to stdout with
  the drainer added to every workload opted in with the annotation ${ANNOTATIONS.inject}: enabled (on the pod
  template, the workload, or a Namespace in the same input). What was done, or why not, goes to stderr.
  The drainer's defaults are the webhook's (docs/kubernetes.md); annotations on a workload win over them.

${usageTable([FILENAME, ...Object.values(DRAINER_DEFAULT_SETTINGS)].map(flagsOnly))}

Exit codes: 0 the input parsed (even if some workloads were refused: see stderr), 2 unparseable input or usage.`;

export interface Out {
  write(text: string): unknown;
}

interface Args {
  readonly file: string | undefined;
  readonly defaults: InjectDefaults;
}

const INJECT_FLAGS = {
  // The injected drainer's defaults: the webhook's rows, read from flags only (the CLI reads no environment).
  ...flagOptions([FILENAME, ...Object.values(DRAINER_DEFAULT_SETTINGS)]),
  // Several -f are refused, not the last one taken: concatenating them is what someone giving two meant.
  filename: { type: 'string', short: 'f', multiple: true },
} as const satisfies ParseArgsOptionsConfig;

function readArgs(args: readonly string[], readFile: (path: string) => string): Args | { readonly problem: string } | 'help' {
  const read = readFlags(args, INJECT_FLAGS);
  if (read.kind !== 'flags') return read.kind === 'help' ? 'help' : read;
  const { filename = [], ...flags } = read.flags;
  if (filename.length > 1) return { problem: 'give one -f FILE (concatenate files with --- to inject several)' };
  const reader = new EnvReader({}, readFile, { ...flags, filename: filename[0] });
  const file = FILENAME.read(reader);
  const defaults = readInjectDefaults(reader);
  if (reader.problems.length > 0) return { problem: reader.problems.join('; ') };
  return { file: file === '-' ? undefined : file, defaults };
}

/** The objects a document holds: itself, or a List's items. */
function objectsOf(value: unknown): unknown[] {
  return isList(value) ? value.items : [value];
}

function isList(value: unknown): value is Json & { items: unknown[] } {
  return isObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

const namespaceOf = (o: Json): string => (isObject(o.metadata) && typeof o.metadata.namespace === 'string' ? o.metadata.namespace : '');
const nameOf = (o: Json): string => (isObject(o.metadata) && typeof o.metadata.name === 'string' ? o.metadata.name : '');

/** Runs the command; resolves to the exit code. */
export async function runInject(args: readonly string[], stdin: NodeJS.ReadableStream, stdout: Out, stderr: Out, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Promise<number> {
  const parsed = readArgs(args, readFile);
  if (parsed === 'help') {
    stdout.write(`${INJECT_USAGE}\n`);
    return 0;
  }
  if ('problem' in parsed) {
    stderr.write(usageError('inject', parsed.problem, INJECT_USAGE));
    return 2;
  }
  let text: string;
  try {
    // text() decodes UTF-8 as TextDecoder does: a character split across chunks is whole, a leading BOM dropped.
    text = parsed.file === undefined ? await streamText(stdin) : readFile(parsed.file);
  } catch (error) {
    stderr.write(`eureka-drainer inject: cannot read ${parsed.file ?? 'stdin'}: ${(error as Error).message}\n`);
    return 2;
  }

  const docs = YAML.parseAllDocuments(text) as Document.Parsed[];
  const values: unknown[] = [];
  for (const [i, doc] of docs.entries()) {
    const error = doc.errors[0];
    if (error) {
      stderr.write(`eureka-drainer inject: document ${i + 1}: ${error.message}\n`);
      return 2;
    }
    values.push(doc.toJSON());
  }

  // What the input itself shows: Namespaces (their annotations) and ConfigMaps (their data), by namespace.
  const namespaces = new Map<string, Record<string, string>>();
  const configMaps = new Map<string, Record<string, Record<string, string>>>();
  for (const o of values.flatMap(objectsOf).filter(isObject)) {
    if (o.kind === 'Namespace' && o.apiVersion === 'v1') namespaces.set(nameOf(o), annotationsOf(o.metadata));
    if (o.kind === 'ConfigMap' && o.apiVersion === 'v1') {
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(isObject(o.data) ? o.data : {})) data[k] = String(v);
      const inNamespace = configMaps.get(namespaceOf(o)) ?? {};
      inNamespace[nameOf(o)] = data;
      configMaps.set(namespaceOf(o), inNamespace);
    }
  }
  const counts = { injected: 0, unchanged: 0, refused: 0 };
  const inject = (object: unknown, where: string): unknown => {
    const o = isObject(object) ? object : {};
    const result: InjectResult = injectWorkload(object, {
      defaults: parsed.defaults,
      ...(namespaces.has(namespaceOf(o)) ? { namespaceAnnotations: namespaces.get(namespaceOf(o))! } : {}),
      configMaps: configMaps.get(namespaceOf(o)) ?? {},
    });
    if (!workloadKind(object)) return object;
    counts[result.kind]++;
    const label = `${where}: ${describeObject(object)}`;
    if (result.kind === 'injected') {
      stderr.write(`${label}: injected\n${result.changes.map((c) => `  - ${c}\n`).join('')}`);
      return result.object;
    }
    stderr.write(`${label}: ${result.kind}: ${result.reason}\n`);
    return object;
  };

  let out = '';
  let offset = 0;
  for (const [i, doc] of docs.entries()) {
    const end = i === docs.length - 1 ? text.length : doc.range[2];
    const source = text.slice(offset, end);
    offset = end;
    const before = values[i];
    let after: unknown;
    let changed: boolean;
    if (isList(before)) {
      const items = before.items.map((item, j) => inject(item, `document ${i + 1} item ${j + 1}`));
      changed = items.some((item, j) => item !== before.items[j]);
      after = { ...before, items };
    } else {
      after = inject(before, `document ${i + 1}`);
      changed = after !== before;
    }
    out += changed ? rewrite(doc, before, after, source) : source;
  }
  stdout.write(out);
  stderr.write(`eureka-drainer inject: ${counts.injected} injected, ${counts.unchanged} unchanged, ${counts.refused} refused\n`);
  return 0;
}

/** The document with only the changed nodes set (comments elsewhere stay); rebuilt if that did not give `after`. */
function rewrite(doc: Document.Parsed, before: unknown, after: unknown, source: string): string {
  syncNode(doc, [], before, after);
  let text = doc.toString({ lineWidth: 0 });
  if (!sameJson(YAML.parse(text), after)) {
    const fresh = new YAML.Document(after);
    fresh.commentBefore = doc.commentBefore ?? null;
    // Keep the document separator the source had.
    text = `${/^(\s*#.*\n|\s*\n)*---/.test(source) ? '---\n' : ''}${fresh.toString({ lineWidth: 0 })}`;
  }
  return text;
}

function syncNode(doc: Document.Parsed, path: (string | number)[], before: unknown, after: unknown): void {
  if (sameJson(before, after)) return;
  if (isObject(before) && isObject(after)) {
    const was: Json = before;
    for (const key of Object.keys(was)) if (!(key in after)) doc.deleteIn([...path, key]);
    for (const [key, value] of Object.entries(after)) {
      if (key in was) syncNode(doc, [...path, key], was[key], value);
      else doc.setIn([...path, key], doc.createNode(value));
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && after.length >= before.length) {
    before.forEach((item, i) => syncNode(doc, [...path, i], item, after[i]));
    for (const item of after.slice(before.length)) doc.addIn(path, doc.createNode(item));
    return;
  }
  if (path.length === 0) doc.contents = doc.createNode(after) as typeof doc.contents;
  else doc.setIn(path, doc.createNode(after));
}


/** Structural equality of JSON values (prototypes ignored: objects may come from another realm). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameJson(a[k], b[k]));
}
