// The targets of issue 13 as ratios of figures from one run: ours against the peers' (and a
// difference for the SDK's overhead). A ratio whose figures are missing (a suite not run, a peer
// skipped) shows as "–".
import type { SuiteResult } from './suite.js';
import { formatNumber } from './table.js';

interface Ratio {
  label: string;
  /** `suite/key` of the figures compared. */
  ours: string;
  theirs: string;
  /** `ratio`: ours ÷ theirs, must be ≥ target; `difference`: ours − theirs, must be ≤ target. */
  kind: 'ratio' | 'difference';
  target: number;
}

const RATIOS: Ratio[] = [
  ...([5, 20] as const).flatMap((c): Ratio[] => [
    {
      label: `processing c${c} ÷ graphile-worker c${c}`,
      ours: `processing-throughput/c${c}-table`,
      theirs: `peers/graphile-c${c}`,
      kind: 'ratio',
      target: 1.5,
    },
    {
      label: `processing c${c} ÷ BullMQ (appendfsync always) c${c}`,
      ours: `processing-throughput/c${c}-table`,
      theirs: `peers/bullmq-aof-c${c}`,
      kind: 'ratio',
      target: 1,
    },
    {
      label: `processing c${c} ÷ BullMQ (no persistence) c${c}, for reference`,
      ours: `processing-throughput/c${c}-table`,
      theirs: `peers/bullmq-none-c${c}`,
      kind: 'ratio',
      target: 0,
    },
    {
      label: `one-step bash c${c} ÷ bare \`bash -c true\` loop c${c}`,
      ours: `bash-floor/queue-c${c}`,
      theirs: `bash-floor/floor-c${c}`,
      kind: 'ratio',
      target: 0.8,
    },
  ]),
  {
    label: 'batch enqueue of 1,000 ÷ graphile-worker addJobs of 1,000',
    ours: 'batch-enqueue/rate',
    theirs: 'peers/graphile-batch',
    kind: 'ratio',
    target: 0.25,
  },
  {
    label: 'SDK enqueueSpec p50 − bare REST p50 (ms)',
    ours: 'enqueue-latency/sdk-p50',
    theirs: 'enqueue-latency/rest-p50',
    kind: 'difference',
    target: 0.3,
  },
  {
    // Same client stack on both sides: what is left is the tRPC route's cost over the REST one.
    label: "SDK enqueueSpec p50 − REST p50 through the SDK's transport (ms)",
    ours: 'enqueue-latency/sdk-p50',
    theirs: 'enqueue-latency/rest-undici-p50',
    kind: 'difference',
    target: 0.3,
  },
];

export interface RatioResult {
  label: string;
  ours: number;
  theirs: number;
  value: number;
  target: string;
  pass: boolean | undefined;
}

export function computeRatios(results: readonly SuiteResult[]): RatioResult[] {
  const figure = (ref: string): number => {
    const [suite, key] = ref.split('/');
    const m = results.find((r) => r.name === suite)?.metrics.find((x) => x.key === key);
    return m?.median ?? Number.NaN;
  };
  return RATIOS.map((r) => {
    const ours = figure(r.ours);
    const theirs = figure(r.theirs);
    const value = r.kind === 'ratio' ? ours / theirs : ours - theirs;
    const known = Number.isFinite(value);
    const pass =
      !known || (r.kind === 'ratio' && r.target === 0)
        ? undefined
        : r.kind === 'ratio'
          ? value >= r.target
          : value <= r.target;
    const target =
      r.kind === 'ratio' ? (r.target === 0 ? '' : `≥ ${r.target} ×`) : `≤ ${r.target} ms`;
    return { label: r.label, ours, theirs, value, target, pass };
  });
}

const HEADERS = ['Ratio', 'Ours', 'Theirs', 'Value', 'Target', 'Result'];

function cells(r: RatioResult): string[] {
  return [
    r.label,
    formatNumber(r.ours, 'x'),
    formatNumber(r.theirs, 'x'),
    formatNumber(r.value, 'x'),
    r.target,
    r.pass === undefined ? '' : r.pass ? 'pass' : 'FAIL',
  ];
}

export function ratiosText(ratios: readonly RatioResult[]): string {
  const body = ratios.map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((x, i) => (i >= 1 && i <= 3 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function ratiosMarkdown(ratios: readonly RatioResult[]): string {
  return [
    `| ${HEADERS.join(' | ')} |`,
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...ratios.map((r) => `| ${cells(r).join(' | ')} |`),
  ].join('\n');
}
