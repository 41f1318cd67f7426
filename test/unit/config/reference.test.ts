/**
 * The reference tables agree with the rows the code reads (src/config/reference.ts): every setting is
 * documented once, with its fallback names and the default the code uses. The documents and headings are
 * parameters: where the reference moves, change them here.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { POD_DEADLINE_VARIABLES } from '../../../src/config/pod-deadline';
import { setting, type Variable } from '../../../src/config/reader';
import { ENVIRONMENT_USAGE } from '../../../src/config/help';
import { usageTable } from '../../../src/config/reference';
import { referenceMismatches } from '../../helpers/config-reference';
import { boolean, duration, found, integer, text } from '../../../src/config/rules';
import { VARIABLES } from '../../../src/config/variables';
import { OWNER_ROWS } from '../../../src/owner/config';
import { SETTINGS as WEBHOOK_SETTINGS, WEBHOOK_USAGE } from '../../../src/webhook/command';
import { CHECK_SETTINGS, CHECK_USAGE } from '../../../src/check/command';
import { DRAINER_DEFAULT_SETTINGS } from '../../../src/inject/drainer-defaults';
import { INJECT_USAGE } from '../../../src/inject/cli';

const root = resolve(__dirname, '..', '..', '..');

/** Which document and heading hold each component's reference table. */
const REFERENCES: readonly { readonly component: string; readonly file: string; readonly heading: string; readonly rows: readonly Variable<unknown>[] }[] = [
  { component: 'drainer', file: 'docs/configuration.md', heading: '# Configuration', rows: [...Object.values(VARIABLES), ...Object.values(POD_DEADLINE_VARIABLES)] },
  { component: 'owner mode', file: 'docs/owner-mode.md', heading: '# Owner mode', rows: Object.values(OWNER_ROWS) },
  { component: 'webhook', file: 'docs/kubernetes.md', heading: '### The webhook', rows: Object.values(WEBHOOK_SETTINGS) },
  { component: 'check', file: 'docs/kubernetes.md', heading: '### Checking what runs', rows: Object.values(CHECK_SETTINGS) },
];

test.each(REFERENCES)('the $component reference ($file, $heading) agrees with its rows', ({ file, heading, rows }) => {
  expect(referenceMismatches(readFileSync(resolve(root, file), 'utf8'), heading, rows)).toEqual([]);
});

describe('referenceMismatches', () => {
  const rows = [
    setting(['A_PORT', 'SPRING_PORT'], integer(8080, 1, 65_535), 'a port'),
    setting(['A_TTL'], duration(35_000, 'ms'), 'a cache'),
    setting(['A_ON'], boolean(true), 'a switch'),
    setting(['A_NAME'], found(), 'a name', { shownDefault: 'required' }),
    setting(['A_HOST'], text(), 'a host'),
  ];
  const doc = (table: string): string => `# Doc\n\n## Settings\n\n| variable | default | meaning |\n|---|---|---|\n${table}\n\n## Next\n\n| variable | default |\n|---|---|\n| \`A_ELSEWHERE\` | \`1\` |\n`;
  const good = ['| `A_PORT` (fallback `SPRING_PORT`) | `8080` | x |', '| `A_TTL` | `35s` (bare number: ms) | x |', '| `A_ON`, `A_HOST` | `true`, – | x |', '| `A_NAME` | required | x |'].join('\n');

  test('a table that agrees: any spelling of the same default, several settings in one row', () => {
    expect(referenceMismatches(doc(good), '## Settings', rows)).toEqual([]);
  });

  test.each([
    ['a wrong default', good.replace('`8080`', '`8081`'), 'A_PORT: the reference says the default is "`8081`", the code "8080"'],
    ['a default in other words', good.replace('| required |', '| – |'), 'A_NAME: the reference says the default is "–", the code "required"'],
    ['a missing setting', good.replace('| `A_TTL` | `35s` (bare number: ms) | x |', ''), 'A_TTL is in no table with a default column'],
    ['a setting twice', `${good}\n| \`A_TTL\` | \`35s\` | again |`, 'A_TTL is in 2 rows'],
    ['a fallback left out', good.replace(' (fallback `SPRING_PORT`)', ''), "A_PORT's row does not name SPRING_PORT"],
    ['defaults that do not line up', good.replace('`true`, –', '`true`, –, `x`'), "A_ON's row gives 3 defaults for its settings"],
  ])('%s is named', (_case, table, mismatch) => {
    expect(referenceMismatches(doc(table), '## Settings', rows)).toContain(mismatch);
  });

  test('a page-level heading runs to the end of the page: a # comment in a code block is not a heading', () => {
    const page = `# Page\n\n\`\`\`sh\n# set it like this\nexport A_PORT=1\n\`\`\`\n\n| variable | default |\n|---|---|\n${good}\n`;
    expect(referenceMismatches(page, '# Page', rows)).toEqual([]);
  });

  test('only the section under the heading counts, and a missing heading says so', () => {
    expect(referenceMismatches(doc(good), '## Next', rows)).toContain('A_PORT is in no table with a default column');
    expect(referenceMismatches(doc(good), '## Gone', rows)).toEqual(['no heading "## Gone"']);
  });
});

describe('usageTable (--help)', () => {
  test('the setting, the default in a column of its own, what it does and where else it may be given', () => {
    const table = usageTable([
      setting(['--port', 'A_PORT'], integer(8443, 1, 65_535), 'TLS port'),
      setting(['--name', '-n'], text(), 'a name'),
      setting(['A_NAME', 'SPRING_NAME'], text(), 'a name'),
      setting(['A_IMAGE'], text('registry.example/a-rather-long/image:1'), 'the image'),
    ]);
    expect(table.split('\n')).toEqual([
      '           default',
      '  --port   8443            TLS port (env A_PORT)',
      '  --name   –               a name (-n)',
      '  A_NAME   –               a name (or SPRING_NAME)',
      '  A_IMAGE  registry.example/a-rather-long/image:1',
      '                           the image',
    ]);
  });

  const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  test.each([
    ['the webhook', WEBHOOK_USAGE, Object.values(WEBHOOK_SETTINGS)],
    ['check', CHECK_USAGE, Object.values(CHECK_SETTINGS)],
    ['inject', INJECT_USAGE, Object.values(DRAINER_DEFAULT_SETTINGS)],
    ['the drainer', ENVIRONMENT_USAGE, [...Object.values(VARIABLES), ...Object.values(POD_DEADLINE_VARIABLES), ...Object.values(OWNER_ROWS)]],
  ] as const)("%s's --help lists every row with its default", (_command, usage, rows: readonly Variable<unknown>[]) => {
    for (const row of rows) expect(usage).toMatch(new RegExp(`\\n  ${escaped(row.names[0]!)} +${escaped(row.shownDefault)}\\s+${escaped(row.about)}`));
  });
});
