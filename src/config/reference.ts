/**
 * The settings' tables as people read them: --help is generated from the rows (the Markdown reference,
 * docs/configuration.md and the pages beside it, is checked against the same rows by the tests:
 * test/helpers/config-reference.ts). Pure: rows in, text out.
 */
import type { Variable } from './reader';

type Row = Variable<unknown>;

/** A default longer than this gets its own line, so the meanings stay in one column. */
const DEFAULT_WIDTH = 16;

/**
 * --help's table: the setting, the default in a column of its own, what it does (with where else it may
 * be given: a flag's variable, a variable's Spring fallback).
 */
export function usageTable(allRows: readonly Row[]): string {
  const rows = uniqueByName(allRows);
  const nameWidth = Math.max(...rows.map((r) => r.names[0]!.length)) + 2;
  const aboutColumn = ' '.repeat(2 + nameWidth + DEFAULT_WIDTH);
  const line = (name: string, shownDefault: string, about: string): string =>
    shownDefault.length < DEFAULT_WIDTH - 1
      ? `  ${name.padEnd(nameWidth)}${shownDefault.padEnd(DEFAULT_WIDTH)}${about}`.trimEnd()
      : `  ${name.padEnd(nameWidth)}${shownDefault}\n${aboutColumn}${about}`;
  return [line('', 'default', ''), ...rows.map((r) => line(r.names[0]!, r.shownDefault, `${r.about}${alsoGiven(r)}`))].join('\n');
}

function alsoGiven(row: Row): string {
  const [first, ...others] = row.names;
  if (others.length === 0) return '';
  if (!first!.startsWith('--')) return ` (or ${others.join(' or ')})`;
  return ` (${others.map((name) => (name.startsWith('-') ? name : `env ${name}`)).join(', ')})`;
}

/** One row per setting: tables share rows (POD_NAME) and read one variable two ways (a URL, and whether it was given). */
export function uniqueByName(rows: readonly Row[]): Row[] {
  return [...new Map(rows.map((r) => [r.names[0]!, r])).values()];
}
