// Completed and failed tasks per second over the last five minutes, counted here from the
// `task.status` events (seeded from the recent history on load) and drawn as stacked SVG bars.
import type { TaskSummary } from '../../shared/tasks.js';
import { h, svg } from './dom.js';
import { formatCount } from './format.js';

export const WINDOW_SECONDS = 300;

type Outcome = 'completed' | 'failed';

export class ThroughputSeries {
  private readonly perSecond = new Map<number, Record<Outcome, number>>();
  /** `task#attempt` already counted, so the history and the live events never count one twice. */
  private readonly counted = new Map<string, number>();

  record(taskId: string, attempt: number, outcome: Outcome, atMs: number, nowMs: number): void {
    const second = Math.min(Math.floor(atMs / 1000), Math.floor(nowMs / 1000));
    const key = `${taskId}#${attempt}`;
    if (this.counted.has(key) || second <= Math.floor(nowMs / 1000) - WINDOW_SECONDS) return;
    this.counted.set(key, second);
    const bucket = this.perSecond.get(second) ?? { completed: 0, failed: 0 };
    bucket[outcome] += 1;
    this.perSecond.set(second, bucket);
  }

  /** Finished tasks from a list, by their completion time. */
  seed(tasks: readonly TaskSummary[], nowMs: number): void {
    for (const task of tasks) {
      if ((task.status === 'completed' || task.status === 'failed') && task.completed_at) {
        this.record(task.id, task.attempts, task.status, Date.parse(task.completed_at), nowMs);
      }
    }
  }

  /** Counts per second, oldest first, the last being the current second. */
  window(nowMs: number): Record<Outcome, number[]> {
    const last = Math.floor(nowMs / 1000);
    const first = last - WINDOW_SECONDS + 1;
    for (const second of this.perSecond.keys()) if (second < first) this.perSecond.delete(second);
    for (const [key, second] of this.counted) if (second < first) this.counted.delete(key);
    const completed: number[] = [];
    const failed: number[] = [];
    for (let second = first; second <= last; second++) {
      const bucket = this.perSecond.get(second);
      completed.push(bucket?.completed ?? 0);
      failed.push(bucket?.failed ?? 0);
    }
    return { completed, failed };
  }
}

const WIDTH = 720;
const HEIGHT = 160;
const LEFT = 34;
const RIGHT = 8;
const TOP = 8;
const BOTTOM = 20;

export interface ThroughputChart {
  render(nowMs: number): void;
}

export function createThroughputChart(
  root: HTMLElement,
  series: ThroughputSeries,
): ThroughputChart {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const baseline = TOP + plotHeight;
  const barWidth = plotWidth / WINDOW_SECONDS;

  const yLabels = [0, 0.5, 1].map((fraction) => {
    const y = baseline - fraction * plotHeight;
    return {
      fraction,
      line: svg('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y, y2: y, class: 'grid' }),
      text: svg('text', { x: LEFT - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }),
    };
  });
  const xLabels = [5, 4, 3, 2, 1, 0].map((minutesAgo) =>
    svg(
      'text',
      {
        x: LEFT + plotWidth - (minutesAgo * 60 * plotWidth) / WINDOW_SECONDS,
        y: HEIGHT - 5,
        class: 'axis',
        'text-anchor': minutesAgo === 0 ? 'end' : minutesAgo === 5 ? 'start' : 'middle',
      },
      minutesAgo === 0 ? 'now' : `−${minutesAgo}m`,
    ),
  );
  const completedBars = svg('path', { class: 'bars completed' });
  const failedBars = svg('path', { class: 'bars failed' });
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', class: 'chart' },
    ...yLabels.flatMap((label) => [label.line, label.text]),
    completedBars,
    failedBars,
    ...xLabels,
  );
  const completedTotal = h('strong', {}, '0');
  const failedTotal = h('strong', {}, '0');
  const peak = h('span', {}, '');
  root.replaceChildren(
    chart,
    h(
      'p',
      { class: 'legend' },
      h('span', { class: 'key completed' }),
      'Completed ',
      completedTotal,
      h('span', { class: 'key failed' }),
      'Failed ',
      failedTotal,
      peak,
    ),
  );

  return {
    render(nowMs) {
      const { completed, failed } = series.window(nowMs);
      const totals = completed.map((count, i) => count + (failed[i] ?? 0));
      const top = niceCeiling(Math.max(2, ...totals));
      const scale = plotHeight / top;
      let completedPath = '';
      let failedPath = '';
      completed.forEach((count, i) => {
        const x = (LEFT + i * barWidth).toFixed(2);
        const w = barWidth.toFixed(2);
        const failures = failed[i] ?? 0;
        const middle = baseline - count * scale;
        if (count > 0) completedPath += `M${x},${baseline}V${middle}h${w}V${baseline}Z`;
        if (failures > 0) {
          failedPath += `M${x},${middle}V${middle - failures * scale}h${w}V${middle}Z`;
        }
      });
      completedBars.setAttribute('d', completedPath);
      failedBars.setAttribute('d', failedPath);
      for (const label of yLabels) label.text.textContent = formatCount(top * label.fraction);

      const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
      const completedSum = sum(completed);
      const failedSum = sum(failed);
      completedTotal.textContent = formatCount(completedSum);
      failedTotal.textContent = formatCount(failedSum);
      root.dataset.completed = String(completedSum);
      root.dataset.failed = String(failedSum);
      peak.textContent = `peak ${formatCount(Math.max(0, ...totals))}/s`;
      chart.setAttribute(
        'aria-label',
        `Tasks per second over the last ${WINDOW_SECONDS / 60} minutes: ${completedSum} completed, ${failedSum} failed.`,
      );
    },
  };
}

/** 1, 2, 5, 10, 20, 50…: the smallest at or above `value`. */
function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * magnitude >= value) ?? 10;
  return step * magnitude;
}
