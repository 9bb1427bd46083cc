// The task history (GET /api/queue/tasks), newest first, filtered by status and application,
// with each failed task's error in its row and older pages on demand.
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { TaskListInput, TaskSummary } from '../../shared/tasks.js';
import { api } from './api.js';
import { h, tableHead } from './dom.js';
import { formatDuration, formatTime } from './format.js';
import { statusBadge, taskLink } from './taskWidgets.js';

const STATUSES = [
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
] as const satisfies readonly TaskStatus[];
// Does not compile if shared/taskStatus.ts gains a status this list lacks.
const _everyStatus: Exclude<TaskStatus, (typeof STATUSES)[number]> extends never ? true : never =
  true;

const PAGE = 50;
/** The server's TASK_LIST_MAX: a refresh reloads at most this many rows. */
const MOST = 200;

export interface RecentTasksView {
  /** Reloads the rows shown (after task events, on reconnect). */
  refresh(): Promise<void>;
  /** Offers an application name in the filter's suggestions. */
  noteApp(name: string): void;
}

export interface RecentTasksOptions {
  root: HTMLElement;
  token: () => string | null;
  /** Every page loaded, for the throughput chart's history. */
  onLoaded: (tasks: readonly TaskSummary[]) => void;
}

export function createRecentTasksView(options: RecentTasksOptions): RecentTasksView {
  const { root, token } = options;
  const status = h(
    'select',
    { attrs: { name: 'status', 'aria-label': 'Status' } },
    h('option', { attrs: { value: '' } }, 'Any status'),
    ...STATUSES.map((s) => h('option', { attrs: { value: s } }, s)),
  );
  const appNames = h('datalist', { attrs: { id: 'app-names' } });
  const app = h('input', {
    attrs: {
      name: 'app',
      type: 'search',
      list: 'app-names',
      placeholder: 'Any application',
      'aria-label': 'Application',
      maxlength: '63',
      autocomplete: 'off',
    },
  });
  const body = h('tbody');
  const message = h('p', { class: 'empty' });
  const older = h('button', { class: 'secondary', attrs: { type: 'button' } }, 'Load older');
  root.replaceChildren(
    h('form', { class: 'filters', attrs: { role: 'search' } }, status, app, appNames),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        {},
        tableHead('Task', 'Application', 'Status', 'Enqueued', '#Took', '#Attempts', 'Error'),
        body,
      ),
    ),
    message,
    older,
  );

  const known = new Set<string>();
  let shown = 0;
  let nextCursor: string | null = null;
  let generation = 0;

  const filter = (): Pick<TaskListInput, 'status' | 'app'> => ({
    status: (status.value || undefined) as TaskStatus | undefined,
    app: app.value.trim() || undefined,
  });

  async function load(reset: boolean): Promise<void> {
    const mine = ++generation;
    const input: TaskListInput = reset
      ? { ...filter(), limit: Math.min(MOST, Math.max(PAGE, shown)) }
      : { ...filter(), limit: PAGE, cursor: nextCursor ?? undefined };
    try {
      const list = await api.tasks(token(), input);
      if (mine !== generation) return; // a newer load has begun
      const rows = list.tasks.map(row);
      if (reset) body.replaceChildren(...rows);
      else body.append(...rows);
      shown = body.rows.length;
      nextCursor = list.next_cursor;
      older.hidden = nextCursor === null;
      message.hidden = shown > 0;
      message.textContent = 'No task matches.';
      for (const task of list.tasks) noteApp(task.app_name);
      options.onLoaded(list.tasks);
    } catch (error) {
      if (mine !== generation) return;
      message.hidden = false;
      message.textContent = `Could not load the tasks: ${(error as Error).message}`;
    }
  }

  function noteApp(name: string): void {
    if (known.has(name)) return;
    known.add(name);
    appNames.append(h('option', { attrs: { value: name } }));
  }

  let typing: ReturnType<typeof setTimeout> | undefined;
  status.addEventListener('change', () => void load(true));
  app.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => void load(true), 300);
  });
  root.querySelector('form')?.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(typing);
    void load(true);
  });
  older.addEventListener('click', () => void load(false));
  older.hidden = true;

  return { refresh: () => load(true), noteApp };
}

function row(task: TaskSummary): HTMLTableRowElement {
  const took =
    task.started_at && task.completed_at
      ? formatDuration(Date.parse(task.completed_at) - Date.parse(task.started_at))
      : '—';
  return h(
    'tr',
    { data: { taskId: task.id, status: task.status } },
    h('td', {}, taskLink(task.id)),
    h('td', {}, task.app_name),
    h('td', {}, statusBadge(task.status)),
    h('td', {}, formatTime(task.enqueued_at)),
    h('td', { class: 'num' }, took),
    h('td', { class: 'num' }, String(task.attempts)),
    h(
      'td',
      {},
      task.error_message
        ? h(
            'div',
            { class: 'error clamp', attrs: { title: task.error_message } },
            task.error_message,
          )
        : null,
    ),
  );
}
