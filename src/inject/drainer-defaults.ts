/**
 * The injected drainer's defaults, which the webhook and `eureka-drainer inject` both take (one table of rows,
 * read by the one config reader): the image, the sidecar kind, the port, the resources, env defaults and
 * the token. Annotations on a pod win over them (src/inject/annotations.ts). Pure but for reading the token file.
 */
import { VARIABLE_NAMES } from '../config';
import { readRows, setting, shown, type EnvReader, type Variable } from '../config/reader';
import { integer, nonEmpty, oneOf, text } from '../config/rules';
import { isObject } from '../json';
import { INJECTED_TAIL_METRICS_URL, INJECTED_TAIL_MODE } from './adaptive-tail';
import { DEFAULT_DRAINER_PORT, DEFAULT_IMAGE } from './drainer-container';

/** Kubernetes quantities (strings, as `kubectl get -o json` shows them) by resource name. */
export type ResourceList = Readonly<Partial<Record<ResourceName, string>>>;
export interface DrainerResources {
  readonly requests: ResourceList;
  readonly limits: ResourceList;
}

export interface EnvDefault {
  readonly name: string;
  readonly value: string;
}

export interface InjectDefaults {
  readonly image: string;
  readonly sidecar: 'native' | 'classic';
  readonly port: number;
  readonly resources: DrainerResources;
  /** Given to the drainer unless the pod sets the name itself (the app's env, or a ConfigMap the injector can see). */
  readonly env: readonly EnvDefault[];
  /** Written into the app's preStop header and the drainer's DRAINER_TOKEN: one value, so the two cannot differ. */
  readonly token?: string;
}

const RESOURCE_NAMES = ['cpu', 'memory'] as const;
type ResourceName = (typeof RESOURCE_NAMES)[number];

/** The k8s/ examples' (bench/README.md, "Footprint on a real kubelet", says how they follow from the measurements). */
export const DEFAULT_RESOURCES: DrainerResources = { requests: { cpu: '10m', memory: '96Mi' }, limits: { memory: '192Mi' } };

export const DEFAULTS: InjectDefaults = { image: DEFAULT_IMAGE, sidecar: 'native', port: DEFAULT_DRAINER_PORT, resources: DEFAULT_RESOURCES, env: [] };

/** The drainer's own token: at least this long (src/config/index.ts refuses shorter). */
const MIN_TOKEN_LENGTH = 16;

/** Env names the injector sets itself: the app's entries of the same name are not copied, and no env default may set them. */
export const OWN_NAMES: ReadonlySet<string> = new Set(['DRAINER_APP_PORT', 'DRAINER_GRACE_PERIOD_SECONDS', 'DRAINER_PORT', 'POD_IP', 'POD_NAME', 'NODE_IP', INJECTED_TAIL_MODE, INJECTED_TAIL_METRICS_URL]);
/** The token's names: never copied from the app (its hook would not send it); set only from the token setting, so the hook and the drainer agree. */
export const TOKEN_NAMES: ReadonlySet<string> = new Set(['DRAINER_TOKEN', 'DRAINER_TOKEN_FILE']);
const DRAINER_READS: ReadonlySet<string> = new Set(VARIABLE_NAMES);

/** A Kubernetes quantity, never negative: digits with an optional fraction, then a binary, decimal or exponent suffix. */
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const SUFFIX: Readonly<Record<string, number>> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A quantity's size, for comparing a request with its limit (the apiserver refuses a pod whose request is larger). */
function quantitySize(quantity: string): number | undefined {
  const match = QUANTITY.exec(quantity);
  if (!match) return undefined;
  const suffix = match[2] ?? '';
  const scale = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix]!;
  return Number(match[1]) * scale;
}

export type Parsed<T> = { readonly value: T } | { readonly problem: string };

/**
 * `{"requests":{"cpu":"10m","memory":"96Mi"},"limits":{"memory":"192Mi"}}` (Helm's toJson of the chart's
 * drainer.resources): only cpu and memory, quantities as Kubernetes writes them, no request above its limit.
 * Each section given replaces the default's; an empty one means none.
 */
export function parseResources(raw: string): Parsed<DrainerResources> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { problem: `must be a JSON object such as ${JSON.stringify(DEFAULT_RESOURCES)}, got ${shown(raw)}` };
  }
  if (!isObject(value)) return { problem: `must be a JSON object with requests and/or limits, got ${shown(raw)}` };
  const unknownKeys = Object.keys(value).filter((k) => k !== 'requests' && k !== 'limits');
  if (unknownKeys.length > 0) return { problem: `may have only requests and limits, got ${unknownKeys.join(', ')}` };
  const problems: string[] = [];
  const section = (key: 'requests' | 'limits'): ResourceList => {
    const given = value[key];
    if (given === undefined) return DEFAULT_RESOURCES[key];
    if (!isObject(given)) {
      problems.push(`${key} must be an object of ${RESOURCE_NAMES.join(' and ')}, got ${JSON.stringify(given)}`);
      return {};
    }
    const list: Partial<Record<ResourceName, string>> = {};
    for (const [name, quantity] of Object.entries(given)) {
      if (!(RESOURCE_NAMES as readonly string[]).includes(name)) {
        problems.push(`${key}.${name}: only ${RESOURCE_NAMES.join(' and ')} may be set`);
        continue;
      }
      const text = typeof quantity === 'number' ? String(quantity) : quantity;
      if (typeof text !== 'string' || quantitySize(text) === undefined) {
        problems.push(`${key}.${name} must be a Kubernetes quantity such as "10m", "0.5", "96Mi" or "1G", got ${JSON.stringify(quantity)}`);
        continue;
      }
      list[name as ResourceName] = text;
    }
    return list;
  };
  const requests = section('requests');
  const limits = section('limits');
  for (const name of RESOURCE_NAMES) {
    const request = requests[name];
    const limit = limits[name];
    if (request !== undefined && limit !== undefined && quantitySize(request)! > quantitySize(limit)!) {
      problems.push(`requests.${name} ${request} is above limits.${name} ${limit} (the apiserver would refuse every injected pod)`);
    }
  }
  return problems.length > 0 ? { problem: problems.join('; ') } : { value: { requests, limits } };
}

/**
 * `[{"name":"DRAINER_TAIL_SECONDS","value":"5"}]` (Helm's toJson of the chart's drainer.env): names the drainer reads,
 * not ones the injector sets, each once, values strings.
 */
export function parseEnvDefaults(raw: string): Parsed<readonly EnvDefault[]> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { problem: `must be a JSON list such as [{"name":"DRAINER_TAIL_SECONDS","value":"5"}], got ${shown(raw)}` };
  }
  if (!Array.isArray(value)) return { problem: `must be a JSON list of {"name","value"} entries, got ${shown(raw)}` };
  const problems: string[] = [];
  const env: EnvDefault[] = [];
  value.forEach((entry: unknown, i) => {
    const where = `entry ${i + 1}`;
    if (!isObject(entry) || typeof entry.name !== 'string' || typeof entry.value !== 'string' || Object.keys(entry).length !== 2) {
      problems.push(`${where} must be {"name": "…", "value": "…"} with a string value (quote numbers), got ${JSON.stringify(entry)}`);
      return;
    }
    const { name, value: v } = entry;
    if (OWN_NAMES.has(name)) problems.push(`${where}: ${name} is set by the injector`);
    else if (TOKEN_NAMES.has(name)) problems.push(`${where}: ${name} comes from the token file setting, so the app's preStop sends the same value`);
    else if (!DRAINER_READS.has(name)) problems.push(`${where}: the drainer does not read ${name} (see docs/configuration.md)`);
    else if (env.some((e) => e.name === name)) problems.push(`${where}: ${name} is given twice`);
    else env.push({ name, value: v });
  });
  return problems.length > 0 ? { problem: problems.join('; ') } : { value: env };
}

/** The token file's content: one line of at least 16 characters that an HTTP header can carry. */
export function parseToken(content: string): Parsed<string> {
  const token = content.trim();
  if (token.length < MIN_TOKEN_LENGTH) return { problem: `must hold a token of at least ${MIN_TOKEN_LENGTH} characters (the drainer refuses shorter), got ${token.length}` };
  if (!/^[\x21-\x7e]+$/.test(token)) return { problem: 'must hold a token of printable ASCII without spaces (it is sent as an HTTP header)' };
  return { value: token };
}

/** A row whose text is read by `parse` into a value, its problem named after where it was given. */
function parsedRow<T>(names: readonly string[], fallback: T, shownDefault: string, about: string, parse: (raw: string, reader: EnvReader) => Parsed<T>): Variable<T> {
  return {
    names,
    rule: text(),
    about,
    shownDefault,
    read: (reader) => {
      const found = reader.get(...names);
      if (!found) return fallback;
      const parsed = parse(found.raw, reader);
      if ('value' in parsed) return parsed.value;
      reader.problem(`${found.name} ${parsed.problem}`);
      return fallback;
    },
  };
}

function readTokenFile(path: string, reader: EnvReader): Parsed<string | undefined> {
  const content = reader.readFile(path);
  if ('problem' in content) return { problem: `names a file that cannot be read: ${shown(path)} (${content.problem})` };
  const token = parseToken(content.value);
  return 'value' in token ? token : { problem: `names ${shown(path)}, which ${token.problem}` };
}

/** The drainer image, as the webhook, `inject` and `check` (the image it expects) read it. */
export const IMAGE_RULE = nonEmpty(text(DEFAULTS.image), 'an image reference');
/** The image's default as the reference shows it: the tag is this build's version, the reference shows where it goes. */
export const SHOWN_IMAGE = DEFAULTS.image.replace(/:[^:/]*$/, ':<version>');

/** The rows, a flag then its variable, as the webhook's other rows (src/webhook/command.ts) and `inject` read them. */
export const DRAINER_DEFAULT_SETTINGS = {
  image: setting(['--image', 'WEBHOOK_SIDECAR_IMAGE'], IMAGE_RULE, 'the drainer image to inject', { shownDefault: SHOWN_IMAGE }),
  sidecar: setting(['--sidecar', 'WEBHOOK_SIDECAR'], oneOf(['native', 'classic'] as const, DEFAULTS.sidecar), 'native | classic'),
  drainerPort: setting(['--drainer-port', 'WEBHOOK_DRAINER_PORT'], integer(DEFAULTS.port, 1, 65_535), "the drainer's port (DRAINER_PORT; the preStop calls it)"),
  resources: parsedRow(['--drainer-resources', 'WEBHOOK_DRAINER_RESOURCES'], DEFAULTS.resources, JSON.stringify(DEFAULT_RESOURCES), "the drainer's resources, JSON requests/limits of cpu and memory", parseResources),
  env: parsedRow(['--drainer-env', 'WEBHOOK_DRAINER_ENV'], DEFAULTS.env, '[]', 'env defaults, JSON [{"name","value"}]: the drainer gets them unless the pod sets the name', parseEnvDefaults),
  token: parsedRow<string | undefined>(['--drainer-token-file', 'WEBHOOK_DRAINER_TOKEN_FILE'], undefined, '–', "a file with the token for the app's preStop header and the drainer's DRAINER_TOKEN", readTokenFile),
} as const;

/** The defaults as the rows read them; every problem collects in the reader. */
export function readInjectDefaults(reader: EnvReader): InjectDefaults {
  const { drainerPort, token, ...rest } = readRows(reader, DRAINER_DEFAULT_SETTINGS);
  return { ...rest, port: drainerPort, ...(token === undefined ? {} : { token }) };
}
