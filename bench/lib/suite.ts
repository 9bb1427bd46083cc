// What a benchmark suite is: a name, the figures it produces (each with an optional target), and
// a run function that records one value per figure per run.
import type { BenchDatabaseFactory } from './database.js';
import type { ServerLauncher } from './serverProcess.js';
import { spread, type Spread } from './stats.js';

export type DatabaseKind = 'postgres' | 'pglite';

export interface Target {
  /** `<=`: lower is better and must stay at or below `value`; `>=`: the reverse. */
  op: '<=' | '>=';
  value: number;
}

export interface MetricDefinition {
  /** Stable key in the JSON results. */
  key: string;
  /** What the table shows. */
  label: string;
  unit: string;
  target?: Target | undefined;
}

export interface SuiteContext {
  kind: DatabaseKind;
  /** How many times each measurement is repeated. */
  runs: number;
  databases: BenchDatabaseFactory;
  servers: ServerLauncher;
  metrics: MetricRecorder;
  /** Progress lines (to stderr, so the table on stdout stays clean). */
  log: (message: string) => void;
  settings: SuiteSettings;
}

export interface SuiteSettings {
  /** Finished tasks in the table for the stats-cost suite, cumulative. */
  statsSizes: number[];
  /** On PGlite, a size is skipped when its insert is projected to take longer (seconds). */
  pgliteMaxInsertS: number;
}

export interface Suite {
  /** The name `--only` takes, kebab-case. */
  name: string;
  title: string;
  run(ctx: SuiteContext): Promise<void>;
}

export interface MetricResult extends MetricDefinition, Spread {
  /** Judged on the median; undefined when there is no target or no value. */
  pass: boolean | undefined;
}

export interface SuiteResult {
  name: string;
  title: string;
  durationS: number;
  metrics: MetricResult[];
  notes: string[];
  /** Anything else a suite wants kept in the JSON (per-run details). */
  details: Record<string, unknown>;
  error?: string;
}

/** Collects one value per run for each figure a suite declares, in declaration order. */
export class MetricRecorder {
  private readonly definitions = new Map<string, MetricDefinition>();
  private readonly recorded = new Map<string, number[]>();
  readonly notes: string[] = [];
  readonly details: Record<string, unknown> = {};

  define(definition: MetricDefinition): void {
    if (!this.definitions.has(definition.key)) {
      this.definitions.set(definition.key, definition);
      this.recorded.set(definition.key, []);
    }
  }

  record(key: string, value: number): void {
    const list = this.recorded.get(key);
    if (!list) throw new Error(`metric '${key}' was recorded before it was defined`);
    list.push(value);
  }

  /** The values recorded so far for a figure, one per run. */
  values(key: string): readonly number[] {
    return this.recorded.get(key) ?? [];
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  results(): MetricResult[] {
    return [...this.definitions.values()].map((definition) => {
      const s = spread(this.recorded.get(definition.key) ?? []);
      return { ...definition, ...s, pass: judge(definition.target, s.median) };
    });
  }
}

export function judge(target: Target | undefined, value: number): boolean | undefined {
  if (!target || !Number.isFinite(value)) return undefined;
  return target.op === '<=' ? value <= target.value : value >= target.value;
}
