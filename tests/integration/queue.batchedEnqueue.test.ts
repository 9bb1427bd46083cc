// Enqueues that arrive together share one INSERT; each caller still gets its own task back.
import { describe, expect, it } from 'vitest';
import { postSpec, useApiOnlyNode } from '../helpers/testServer.js';

const api = useApiOnlyNode();

describe('concurrent enqueues', () => {
  it('give every caller the task of its own spec', async () => {
    const names = Array.from({ length: 120 }, (_, i) => `batch-app-${i}`);
    const responses = await Promise.all(
      names.map((name, i) =>
        postSpec(
          api.node.url,
          JSON.stringify({
            apiVersion: 'score.dev/v1b1',
            metadata: { name },
            containers: { web: { image: 'nginx' } },
            workflow: { steps: [{ name: 'only', type: 'bash', config: { command: `echo ${i}` } }] },
          }),
          { contentType: 'application/json' },
        ),
      ),
    );
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(new Set(responses.map((r) => r.body.task_id)).size).toBe(names.length);
    const rows = await api.node.server.services.database.query<{
      task_id: string;
      app_name: string;
      steps: { config: { command: string } }[];
    }>('SELECT task_id, app_name, steps FROM queue_tasks');
    const byId = new Map(rows.map((r) => [r.task_id, r]));
    responses.forEach((response, i) => {
      expect(response.body.application).toBe(names[i]);
      const row = byId.get(response.body.task_id as string);
      expect(row?.app_name).toBe(names[i]);
      expect(row?.steps[0]?.config.command).toBe(`echo ${i}`);
    });
    const [stats] = await api.node.server.services.database.query<{
      enqueued: number;
      pending: number;
    }>('SELECT sum(enqueued)::int AS enqueued, sum(pending)::int AS pending FROM queue_counters');
    expect(stats).toEqual({ enqueued: 120, pending: 120 });
  });
});
