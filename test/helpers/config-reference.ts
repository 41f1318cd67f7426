/**
 * The docs' settings tables held to the code's: where a Markdown reference (docs/configuration.md and the
 * pages beside it) disagrees with the rows src/config reads, so neither can drift. Pure: text and rows in,
 * the differences out.
 */
import { isDeepStrictEqual } from 'node:util';
import { uniqueByName } from '../../src/config/reference';
import type { Variable } from '../../src/config/reader';
import { proseLines } from './markdown';

type Row = Variable<unknown>;

/**
 * Where the Markdown under `heading` (up to the next heading of the same or a higher level) disagrees
 * with `rows`: a setting missing from its tables or listed twice, a fallback name left out, or a
 * default that is not the one the code uses. Only tables with a `default` column are read; the cells
 * before it name the settings. A row naming several settings gives their defaults in the same order,
 * separated by ", " (or one default for all).
 */
export function referenceMismatches(markdown: string, heading: string, rows: readonly Row[]): string[] {
  const tableRows = tablesUnder(markdown, heading);
  if (tableRows === undefined) return [`no heading ${JSON.stringify(heading)}`];
  const unique = uniqueByName(rows);
  const mismatches: string[] = [];
  for (const row of unique) {
    const name = row.names[0]!;
    const holders = tableRows.filter((t) => names(t).includes(name));
    if (holders.length !== 1) {
      mismatches.push(holders.length === 0 ? `${name} is in no table with a default column` : `${name} is in ${holders.length} rows`);
      continue;
    }
    const holder = holders[0]!;
    for (const other of row.names.slice(1)) if (!names(holder).includes(other)) mismatches.push(`${name}'s row does not name ${other}`);
    const documented = defaultOf(holder, name, unique);
    if (documented === undefined) mismatches.push(`${name}'s row gives ${holder.defaultCell.split(', ').length} defaults for its settings`);
    else if (!sameDefault(row, documented)) mismatches.push(`${name}: the reference says the default is ${JSON.stringify(documented)}, the code ${JSON.stringify(row.shownDefault)}`);
  }
  return mismatches;
}

interface TableRow {
  /** The cells before the default column, joined. */
  readonly nameCells: string;
  readonly defaultCell: string;
}

function tablesUnder(markdown: string, heading: string): TableRow[] | undefined {
  // A `# comment` in a code block is not a heading, nor a `| x |` there a table row.
  const lines = proseLines(markdown);
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) return undefined;
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  const rows: TableRow[] = [];
  let defaultColumn = -1;
  for (const line of lines.slice(start + 1, end < 0 ? undefined : end)) {
    if (!line.startsWith('|')) {
      defaultColumn = -1;
      continue;
    }
    const cells = cellsOf(line);
    if (/^[\s|:-]+$/.test(line)) continue;
    if (defaultColumn < 0) {
      defaultColumn = cells.indexOf('default');
      if (defaultColumn < 0) defaultColumn = Infinity;
      continue;
    }
    if (defaultColumn !== Infinity) rows.push({ nameCells: cells.slice(0, defaultColumn).join(' '), defaultCell: cells[defaultColumn] ?? '' });
  }
  return rows;
}

/** A table line's cells, trimmed; a `|` inside backticks is text, not a border. */
function cellsOf(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let inCode = false;
  for (const char of line.trim().slice(1)) {
    if (char === '`') inCode = !inCode;
    if (char === '|' && !inCode) {
      cells.push(cell.trim());
      cell = '';
    } else cell += char;
  }
  return cells;
}

/** The settings a row names, in order: its code spans. */
function names(row: TableRow): string[] {
  return [...row.nameCells.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

/** The default the row gives `name`: its own part when the row documents several settings. */
function defaultOf(row: TableRow, name: string, all: readonly Row[]): string | undefined {
  const documented = names(row).filter((n) => all.some((r) => r.names[0] === n));
  const parts = documented.length > 1 ? row.defaultCell.split(', ') : [row.defaultCell];
  if (parts.length === 1) return parts[0];
  return parts.length === documented.length ? parts[documented.indexOf(name)] : undefined;
}

/** The reference's default reads, by the row's own rule, to the code's; words (required, –) must match as words. */
function sameDefault(row: Row, documented: string): boolean {
  const text = /^`([^`]*)`/.exec(documented)?.[1];
  if (row.shownDefault === row.rule.shown && row.rule.fallback !== undefined && text !== undefined) {
    return isDeepStrictEqual(row.rule.parse(text, row.names[0]!)?.value, row.rule.fallback);
  }
  const words = (s: string): string => s.replace(/`/g, '');
  return words(documented).startsWith(words(row.shownDefault));
}
