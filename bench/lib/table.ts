// The figures as a plain-text table (for the terminal) or a Markdown one (for BENCHMARKS.md).
import type { MetricResult, SuiteResult, Target } from './suite.js';

/** Counts (unitless whole numbers) without decimals; other figures with 2, 1 or 0 decimals. */
export function formatNumber(value: number, unit = 'ms'): string {
  if (!Number.isFinite(value)) return '–';
  if (unit === '' && Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function formatTarget(target: Target | undefined, unit: string): string {
  if (!target) return '';
  return `${target.op === '<=' ? '≤' : '≥'} ${formatNumber(target.value, unit)} ${unit}`.trim();
}

function verdict(metric: MetricResult): string {
  if (metric.pass === undefined) return '';
  return metric.pass ? 'pass' : 'FAIL';
}

const HEADERS = ['Suite', 'Figure', 'Median', 'Min', 'Max', 'Runs', 'Target', 'Result'];

function rows(results: readonly SuiteResult[]): string[][] {
  const out: string[][] = [];
  for (const suite of results) {
    if (suite.error) {
      out.push([suite.name, `ERROR: ${suite.error.split('\n')[0]}`, '', '', '', '', '', '']);
    }
    for (const m of suite.metrics) {
      out.push([
        suite.name,
        m.unit ? `${m.label} (${m.unit})` : m.label,
        formatNumber(m.median, m.unit),
        formatNumber(m.min, m.unit),
        formatNumber(m.max, m.unit),
        String(m.runs.length),
        formatTarget(m.target, m.unit),
        verdict(m),
      ]);
    }
  }
  return out;
}

export function textTable(results: readonly SuiteResult[]): string {
  const body = rows(results);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  // Numbers right-aligned, words left-aligned.
  const numeric = new Set([2, 3, 4, 5]);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  ')];
  let previous = '';
  for (const r of body) {
    // The suite's name once, at its first row.
    lines.push(line(r[0] === previous ? ['', ...r.slice(1)] : r));
    previous = r[0]!;
  }
  return lines.join('\n');
}

export function markdownTable(results: readonly SuiteResult[]): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `| ${HEADERS.join(' | ')} |`,
    `| ${HEADERS.map((_, i) => (i >= 2 && i <= 5 ? '---:' : '---')).join(' | ')} |`,
  ];
  let previous = '';
  for (const r of rows(results)) {
    const cells = r[0] === previous ? ['', ...r.slice(1)] : r;
    previous = r[0]!;
    lines.push(`| ${cells.map((c) => escape(c)).join(' | ')} |`);
  }
  return lines.join('\n');
}
