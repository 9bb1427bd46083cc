// What waits: a banner naming what is paused (GET /api/queue/paused), and a panel of the stored
// schedules and of the tasks enqueued to run later (GET /api/schedules, ?status=scheduled).
import type { Pauses, ScheduleList } from '../../shared/scheduling.js';
import type { TaskList } from '../../shared/tasks.js';
import { api } from './api.js';
import { h, tableHead } from './dom.js';
import { formatTime } from './format.js';
import { taskLink } from './taskWidgets.js';

export interface SchedulingView {
  refresh(): Promise<void>;
}

export function createSchedulingView(options: {
  banner: HTMLElement;
  root: HTMLElement;
  count: HTMLElement;
  token: () => string | null;
}): SchedulingView {
  const { banner, root, count } = options;
  const schedules = h('tbody');
  const tasks = h('tbody');
  const empty = h('p', { class: 'empty' }, 'No schedule, and no task waiting for a later time.');
  root.replaceChildren(
    h('table', {}, tableHead('Schedule', 'Cron', 'Application', 'Next run', 'Last run'), schedules),
    h('table', {}, tableHead('Task', 'Application', 'Runs at'), tasks),
    empty,
  );

  function showPauses(pauses: Pauses): void {
    banner.hidden = pauses.pauses.length === 0;
    banner.replaceChildren(
      h('strong', {}, 'Paused: '),
      pauses.pauses
        .map(
          (p) =>
            `${p.app_name === null ? 'the whole queue' : p.app_name} (by ${p.paused_by} at ${formatTime(p.paused_at)})`,
        )
        .join(', '),
      '. Running tasks finish; no new task starts until resumed.',
    );
  }

  function showScheduled(list: ScheduleList, waiting: TaskList): void {
    schedules.replaceChildren(
      ...list.schedules.map((s) =>
        h(
          'tr',
          {},
          h('td', {}, s.name),
          h('td', {}, h('code', {}, s.cron), ` ${s.timezone}`),
          h('td', {}, s.app_name),
          h(
            'td',
            {},
            s.paused ? h('span', { class: 'paused' }, 'paused') : formatTime(s.next_run_at),
          ),
          h('td', {}, formatTime(s.last_run_at)),
        ),
      ),
    );
    tasks.replaceChildren(
      ...waiting.tasks.map((t) =>
        h(
          'tr',
          {},
          h('td', {}, taskLink(t.id)),
          h('td', {}, t.app_name),
          h('td', {}, formatTime(t.run_at)),
        ),
      ),
    );
    schedules.parentElement!.hidden = list.schedules.length === 0;
    tasks.parentElement!.hidden = waiting.tasks.length === 0;
    empty.hidden = list.schedules.length + waiting.tasks.length > 0;
    count.textContent = String(list.schedules.length + waiting.tasks.length);
  }

  return {
    async refresh() {
      const token = options.token();
      // Best effort: the lists and the connection state report a server that is away.
      try {
        const [pauses, list, waiting] = await Promise.all([
          api.pauses(token),
          api.schedules(token),
          api.tasks(token, { status: 'scheduled', limit: 50 }),
        ]);
        showPauses(pauses);
        showScheduled(list, waiting);
      } catch {
        // shown by the other panels
      }
    },
  };
}
