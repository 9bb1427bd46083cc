// Human output: where the CLI writes (stdout for results, stderr for messages; colours only on
// a terminal, never with NO_COLOR, TERM=dumb or --no-color) and how values look there: aligned
// tables that read well without colours, timestamps, durations, task states, the stats.
import type { QueueStats } from '../../shared/api.js';
import type { TaskStatus } from '../../shared/taskStatus.js';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export interface Output {
  readonly isTTY: boolean;
  readonly color: Colors;
  /** Columns of the terminal; undefined when not a terminal. */
  readonly columns: number | undefined;
  write(text: string): void;
  line(text?: string): void;
}

export function createOutput(stream: NodeJS.WriteStream, colorWanted: boolean): Output {
  const isTTY = stream.isTTY === true;
  const env = process.env;
  const enabled = colorWanted && isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
  return {
    isTTY,
    color: pc.createColors(enabled),
    get columns() {
      return isTTY ? stream.columns : undefined;
    },
    write: (text) => void stream.write(text),
    line: (text = '') => void stream.write(`${text}\n`),
  };
}

export type Style = (text: string) => string;
export type Cell = string | { text: string; style: Style };

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

const GAP = '  ';

/** Lines of a table: a header, a rule, the rows. Colours are applied after padding. */
export function renderTable(
  columns: readonly Column[],
  rows: readonly Cell[][],
  c: Colors,
): string[] {
  const text = (cell: Cell | undefined) => (typeof cell === 'string' ? cell : (cell?.text ?? ''));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => text(row[i]).length)),
  );
  const pad = (value: string, i: number) =>
    columns[i]?.align === 'right' ? value.padStart(widths[i]!) : value.padEnd(widths[i]!);
  const line = (cells: string[]) => cells.join(GAP).trimEnd();
  return [
    line(columns.map((column, i) => c.bold(pad(column.header, i)))),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((row) =>
      line(
        columns.map((_, i) => {
          const cell = row[i];
          const padded = pad(text(cell), i);
          return typeof cell === 'object' ? cell.style(padded) : padded;
        }),
      ),
    ),
  ];
}

/** `name   value` pairs, the names aligned. */
export function renderPairs(
  pairs: readonly [string, string][],
  c: Colors,
  indent = '  ',
): string[] {
  const width = Math.max(0, ...pairs.map(([name]) => name.length));
  return pairs.map(([name, value]) => `${indent}${c.dim(name.padEnd(width))}${GAP}${value}`);
}

/** `2025-10-06 18:00:00.123` (UTC, like the guide's psql output); `-` for none. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** `850 ms`, `2.4 s`, `3 m 05 s`; `-` for none. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const seconds = String(total % 60).padStart(2, '0');
  return `${Math.floor(total / 60)} m ${seconds} s`;
}

/** Milliseconds from `from` to `to`, or null when either is missing. */
export function millisBetween(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  return new Date(to).getTime() - new Date(from).getTime();
}

export function statusCell(status: TaskStatus, c: Colors): Cell {
  return { text: status, style: statusStyle(status, c) };
}

export function statusStyle(status: TaskStatus, c: Colors): Style {
  switch (status) {
    case 'completed':
      return c.green;
    case 'failed':
      return c.red;
    case 'cancelled':
      return c.yellow;
    case 'running':
      return c.cyan;
    case 'pending':
      return c.dim;
  }
}

/** The stats in the guide's order and names. */
export const STATS_FIELDS = [
  'active_tasks',
  'avg_execution_time_ms',
  'avg_queue_time_ms',
  'queue_size',
  'tasks_completed',
  'tasks_enqueued',
  'tasks_failed',
  'workers',
] as const satisfies readonly (keyof QueueStats)[];

export function renderStats(stats: QueueStats, c: Colors): string[] {
  return renderPairs(
    STATS_FIELDS.map((field) => [field, String(stats[field])]),
    c,
  );
}

/** One line: `queue_size=0 active_tasks=2 …`, for logs and pipes. */
export function statsLine(stats: QueueStats): string {
  return STATS_FIELDS.map((field) => `${field}=${stats[field]}`).join(' ');
}

/** `1 task`, `3 tasks`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
