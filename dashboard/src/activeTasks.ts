// The running tasks (GET /api/queue/active-tasks), each with the step it is on and how long it
// has been running, ticking every second.
import type { ActiveTasks } from '../../shared/api.js';
import { h, tableHead } from './dom.js';
import { formatElapsed, formatTime } from './format.js';
import { taskLink } from './taskWidgets.js';

const STEPS_KEPT = 500;

export interface ActiveTasksView {
  update(list: ActiveTasks): void;
  /** From the live `step.started` events. */
  stepStarted(taskId: string, stepName: string): void;
  tick(nowMs: number): void;
}

export function createActiveTasksView(root: HTMLElement, count: HTMLElement): ActiveTasksView {
  const body = h('tbody');
  const empty = h('p', { class: 'empty' }, 'No task is running.');
  root.replaceChildren(
    h('table', {}, tableHead('Task', 'Application', 'Workflow', 'Step', '#Running for'), body),
    empty,
  );
  const steps = new Map<string, string>();
  const stepCells = new Map<string, HTMLElement>();

  const tick = (nowMs: number) => {
    for (const cell of body.querySelectorAll<HTMLElement>('[data-since]')) {
      cell.textContent = formatElapsed(nowMs - Date.parse(cell.dataset.since ?? ''));
    }
  };

  return {
    update(list) {
      stepCells.clear();
      body.replaceChildren(
        ...list.tasks.map((task) => {
          const since = task.started_at ?? task.enqueued_at;
          const step = h('td', {}, steps.get(task.id) ?? '—');
          stepCells.set(task.id, step);
          return h(
            'tr',
            { data: { taskId: task.id } },
            h('td', {}, taskLink(task.id)),
            h('td', {}, task.app_name),
            h('td', {}, task.workflow_name),
            step,
            h(
              'td',
              {
                class: 'num elapsed',
                data: { since },
                attrs: { title: `Started ${formatTime(since)}` },
              },
              '',
            ),
          );
        }),
      );
      count.textContent = String(list.count);
      empty.hidden = list.tasks.length > 0;
      tick(Date.now());
    },
    stepStarted(taskId, stepName) {
      steps.delete(taskId); // re-inserted last: the map stays in order of use
      steps.set(taskId, stepName);
      for (const id of steps.keys()) {
        if (steps.size <= STEPS_KEPT) break;
        steps.delete(id);
      }
      const cell = stepCells.get(taskId);
      if (cell) cell.textContent = stepName;
    },
    tick,
  };
}
