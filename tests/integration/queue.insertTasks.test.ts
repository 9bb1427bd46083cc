// A batch of tasks goes in one INSERT that carries what its tasks share (golden path, steps,
// metadata, creator, attempts) once: every row still gets its own values, in the batch's order,
// and a statement the database refuses stores none of the batch.
import { describe, expect, it } from 'vitest';
import { insertTasks } from '../../server/queue/insertTask.js';
import type { NewTask } from '../../server/queue/types.js';
import type { WorkflowStep } from '../../shared/spec.js';
import { useApiOnlyNode } from '../helpers/testServer.js';

const api = useApiOnlyNode();

const deploySteps: WorkflowStep[] = [
  { name: 'deploy', type: 'bash', config: { command: 'echo deploy' } },
];

function task(name: string, more: Partial<NewTask> = {}): NewTask {
  return {
    appName: name,
    goldenPath: 'deploy-app',
    workflowName: 'golden-path-deploy-app',
    spec: { apiVersion: 'score.dev/v1b1', metadata: { name }, containers: {} },
    steps: deploySteps,
    metadata: { source: 'api', user: 'alice', role: 'admin' },
    createdBy: 'alice',
    priority: 0,
    maxAttempts: 1,
    ...more,
  };
}

interface Row {
  task_id: string;
  app_name: string;
  golden_path: string;
  workflow_name: string;
  spec: unknown;
  steps: unknown;
  metadata: unknown;
  created_by: string;
  priority: number;
  max_attempts: number;
  status: string;
}

describe('insertTasks', () => {
  it('stores each task with its own values when tasks share some of them and not others', async () => {
    const inlineA: WorkflowStep[] = [{ name: 'a', type: 'bash', config: { command: 'true' } }];
    const scheduled = {
      source: 'schedule' as const,
      user: 'alice',
      role: 'admin' as const,
      schedule: 'nightly',
      scheduled_for: '2026-12-07T00:00:00.000Z',
    };
    const tasks = [
      task('mix-0'),
      task('mix-1', { priority: 5 }),
      task('mix-2', { goldenPath: 'ephemeral-env', workflowName: 'golden-path-ephemeral-env' }),
      task('mix-3'),
      task('mix-4', { steps: inlineA }),
      // Equal steps in another object: shared with mix-4.
      task('mix-5', { steps: structuredClone(inlineA) }),
      task('mix-6', { steps: [] }),
      task('mix-7', { metadata: scheduled }),
      task('mix-8', {
        metadata: { source: 'api', user: 'bob', role: 'developer' },
        createdBy: 'bob',
      }),
      task('mix-9', { maxAttempts: 3 }),
      task('mix-10'),
      // Back to a group first seen earlier, not the first one.
      task('mix-11', { goldenPath: 'ephemeral-env', workflowName: 'golden-path-ephemeral-env' }),
    ];
    const inserted = await insertTasks(api.db, tasks);
    expect(inserted.map((t) => t.appName)).toEqual(tasks.map((t) => t.appName));
    expect(new Set(inserted.map((t) => t.taskId)).size).toBe(tasks.length);

    const rows = await api.db.query<Row>(
      `SELECT task_id, app_name, golden_path, workflow_name, spec, steps, metadata, created_by,
              priority, max_attempts, status
       FROM queue_tasks WHERE app_name LIKE 'mix-%' ORDER BY id`,
    );
    // Ids follow the batch's order, and each returned id is its own row's.
    expect(rows.map((r) => r.task_id)).toEqual(inserted.map((t) => t.taskId));
    expect(rows).toEqual(
      tasks.map((t) => ({
        task_id: expect.any(String) as string,
        app_name: t.appName,
        golden_path: t.goldenPath,
        workflow_name: t.workflowName,
        spec: t.spec,
        steps: t.steps,
        metadata: t.metadata,
        created_by: t.createdBy,
        priority: t.priority,
        max_attempts: t.maxAttempts,
        status: 'pending',
      })),
    );
  });

  it('stores none of a batch when the database refuses one of its rows', async () => {
    // PostgreSQL's jsonb (and PGlite's) refuses \u0000; the REST and tRPC paths refuse it earlier.
    const tasks = [
      task('atomic-0'),
      task('atomic-1', { spec: { bad: 'a\u0000b' } }),
      task('atomic-2'),
    ];
    await expect(insertTasks(api.db, tasks)).rejects.toThrow();
    const rows = await api.db.query(`SELECT 1 FROM queue_tasks WHERE app_name LIKE 'atomic-%'`);
    expect(rows).toEqual([]);
  });
});
