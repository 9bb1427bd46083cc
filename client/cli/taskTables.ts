// Tables of tasks: the history with the guide's Step 6 columns, and the active tasks.
import type { ActiveTask, TaskSummary } from '@innominatus-queue/client';
import {
  formatTimestamp,
  millisBetween,
  renderTable,
  statusCell,
  type Cell,
  type Column,
} from './format.js';
import type { Colors } from './format.js';

const HISTORY_COLUMNS: Column[] = [
  { header: 'task_id' },
  { header: 'app_name' },
  { header: 'workflow_name' },
  { header: 'status' },
  { header: 'enqueued_at' },
  { header: 'started_at' },
  { header: 'completed_at' },
  { header: 'total_time_ms', align: 'right' },
];

/** The guide's `SELECT task_id, app_name, …, total_time_ms FROM queue_tasks`, as a table. */
export function renderTaskHistory(tasks: readonly TaskSummary[], c: Colors): string[] {
  const withErrors = tasks.some((task) => task.error_message);
  const columns = withErrors ? [...HISTORY_COLUMNS, { header: 'error_message' }] : HISTORY_COLUMNS;
  const rows = tasks.map((task): Cell[] => {
    const total = millisBetween(task.enqueued_at, task.completed_at);
    const row: Cell[] = [
      task.id,
      task.app_name,
      task.workflow_name,
      statusCell(task.status, c),
      formatTimestamp(task.enqueued_at),
      formatTimestamp(task.started_at),
      formatTimestamp(task.completed_at),
      total === null ? '-' : String(total),
    ];
    if (withErrors) row.push(task.error_message ?? '');
    return row;
  });
  return renderTable(columns, rows, c);
}

export function renderActiveTasks(tasks: readonly ActiveTask[], c: Colors): string[] {
  return renderTable(
    [
      { header: 'id' },
      { header: 'app_name' },
      { header: 'workflow_name' },
      { header: 'status' },
      { header: 'enqueued_at' },
      { header: 'started_at' },
      { header: 'user' },
      { header: 'source' },
    ],
    tasks.map((task) => [
      task.id,
      task.app_name,
      task.workflow_name,
      statusCell(task.status, c),
      formatTimestamp(task.enqueued_at),
      formatTimestamp(task.started_at),
      task.metadata.user,
      task.metadata.source,
    ]),
    c,
  );
}
