// The demo guide's eight stats (GET /api/queue/stats), kept live by the `stats` events.
import type { QueueStats } from '../../shared/api.js';
import { h } from './dom.js';
import { formatCount, formatDuration } from './format.js';

const STATS: Record<keyof QueueStats, { label: string; ms?: true }> = {
  queue_size: { label: 'Queue size' },
  active_tasks: { label: 'Active tasks' },
  workers: { label: 'Workers' },
  tasks_enqueued: { label: 'Enqueued' },
  tasks_completed: { label: 'Completed' },
  tasks_failed: { label: 'Failed' },
  avg_queue_time_ms: { label: 'Avg queue time', ms: true },
  avg_execution_time_ms: { label: 'Avg execution time', ms: true },
};

export interface StatsPanel {
  update(stats: QueueStats): void;
}

export function createStatsPanel(root: HTMLElement): StatsPanel {
  const values = new Map<keyof QueueStats, HTMLElement>();
  root.replaceChildren(
    ...Object.entries(STATS).map(([key, { label }]) => {
      const value = h('dd', { attrs: { 'aria-live': 'off' } }, '–');
      values.set(key as keyof QueueStats, value);
      return h('div', { class: 'stat', data: { stat: key } }, h('dt', {}, label), value);
    }),
  );
  return {
    update(stats) {
      for (const [key, element] of values) {
        const value = stats[key];
        if (element.dataset.value === String(value)) continue;
        element.dataset.value = String(value);
        element.textContent = STATS[key].ms ? formatDuration(value) : formatCount(value);
        // Restart the highlight animation (it only runs when the class is added anew).
        element.classList.remove('changed');
        void element.offsetWidth;
        element.classList.add('changed');
      }
    },
  };
}
