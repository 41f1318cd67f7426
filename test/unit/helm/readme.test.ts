/**
 * charts/eureka-drainer/README.md's values table is values.schema.json's descriptions with values.yaml's
 * defaults, every value once. The table is generated: `UPDATE_CHART_README=1 npx jest test/unit/helm/readme.test.ts`
 * writes it between the README's markers; without it the test fails on any difference and prints the table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { CHART } from '../../helpers/helm';

const README = resolve(CHART, 'README.md');
const START = '<!-- values table: generated from values.schema.json and values.yaml (test/unit/helm/readme.test.ts) -->';
const END = '<!-- end of values table -->';

/** The parts of a JSON Schema (draft 2020-12) node the table is made of. */
interface SchemaNode {
  readonly $ref?: string;
  readonly enum?: readonly unknown[];
  readonly anyOf?: SchemaNode[];
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
}
type Values = Readonly<Record<string, unknown>>;

const schema = JSON.parse(readFileSync(resolve(CHART, 'values.schema.json'), 'utf8')) as SchemaNode & { readonly $defs: Readonly<Record<string, SchemaNode>> };
const defaults = YAML.parse(readFileSync(resolve(CHART, 'values.yaml'), 'utf8')) as Values;

interface Row {
  readonly path: string;
  readonly type: string;
  readonly default: unknown;
  readonly description?: string;
}

const resolveRef = (node: SchemaNode): SchemaNode => (typeof node.$ref === 'string' ? schema.$defs[node.$ref.replace('#/$defs/', '')]! : node);

function typeOf(node: SchemaNode): string {
  const n = resolveRef(node);
  if (Array.isArray(n.enum)) return n.enum.map((v: unknown) => JSON.stringify(v)).join(' \\| ');
  if (Array.isArray(n.anyOf)) return n.anyOf.map((a) => typeOf(a)).join(' or ');
  return String(n.type);
}

/** A value is a row when the schema describes it as one (a description) or it has no parts; else its parts are. */
function rows(node: SchemaNode, path: string[], value: unknown): Row[] {
  const properties = node.properties;
  if (node.description !== undefined || !properties) {
    return [{ path: path.join('.'), type: typeOf(node), default: value, ...(node.description !== undefined ? { description: String(node.description) } : {}) }];
  }
  return Object.entries(properties).flatMap(([key, child]) => rows(child, [...path, key], (value as Values | undefined)?.[key]));
}

const ROWS = rows({ properties: schema.properties }, [], defaults).filter((r) => r.path !== 'global');
const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const TABLE = [
  '| Value | Type | Default | Description |',
  '|---|---|---|---|',
  ...ROWS.map((r) => `| \`${r.path}\` | ${r.type} | ${r.default === undefined ? '' : `\`${cell(JSON.stringify(r.default))}\``} | ${cell(r.description ?? '')} |`),
].join('\n');

test('every value has a description in the schema', () => {
  expect(ROWS.filter((r) => r.description === undefined).map((r) => r.path)).toEqual([]);
});

test('every value in values.yaml is a row of the table (or inside one)', () => {
  const leaves = (value: unknown, path: string[]): string[] =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0
      ? Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]))
      : [path.join('.')];
  const documented = ROWS.map((r) => r.path);
  const missing = leaves(defaults, []).filter((leaf) => !documented.some((p) => leaf === p || leaf.startsWith(`${p}.`)));
  expect(missing).toEqual([]);
});

test('the README\'s table is the generated one', () => {
  const text = readFileSync(README, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  expect({ start: from >= 0, end: to > from }).toEqual({ start: true, end: true });
  const expected = `${text.slice(0, from + START.length)}\n${TABLE}\n${text.slice(to)}`;
  if (process.env['UPDATE_CHART_README'] === '1') writeFileSync(README, expected);
  expect(readFileSync(README, 'utf8')).toBe(expected);
});
