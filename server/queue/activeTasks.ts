// The tasks running right now, across the cluster, oldest start first.
import { pickMetadata, type ActiveTask, type TaskMetadata } from '../../shared/api.js';
import type { Queryable } from '../db/database.js';

const ACTIVE = `
SELECT task_id, app_name, workflow_name, enqueued_at, started_at, metadata
FROM queue_tasks
WHERE status = 'running'
ORDER BY started_at, id
LIMIT $1`;

interface Row {
  task_id: string;
  app_name: string;
  workflow_name: string;
  enqueued_at: Date;
  started_at: Date | null;
  metadata: TaskMetadata;
}

export async function readActiveTasks(db: Queryable, limit: number): Promise<ActiveTask[]> {
  const rows = await db.query<Row>(ACTIVE, [limit]);
  return rows.map((row) => ({
    id: row.task_id,
    app_name: row.app_name,
    workflow_name: row.workflow_name,
    status: 'running',
    enqueued_at: row.enqueued_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    metadata: pickMetadata(row.metadata),
  }));
}
