// Task events reach watchers on other nodes exactly as they were published, in order, when runs
// of alike status events travel in their compact form: a batch enqueue's thousand `pending`
// events, and a mix of runs, single events and events of other kinds. A node does not read its
// own notifications back as events of another node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../shared/events.js';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';
import { startTestServer, TOKEN, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

describe.skipIf(!onPostgres)(
  `task events across nodes (${onPostgres ? 'PostgreSQL' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    let database: TestDatabase;
    let sender: TestServer;
    let watcher: TestServer;
    beforeAll(async () => {
      database = await createTestDatabase();
      sender = await startTestServer(database, { QUEUE_CONCURRENCY: '0' });
      watcher = await startTestServer(database, { QUEUE_CONCURRENCY: '0' });
    });
    afterAll(async () => {
      await Promise.all([sender?.stop(), watcher?.stop()]);
      await database?.drop();
    });

    /** Events each node's subscribers get from the other node (and any of its own echoed back). */
    function watch() {
      const remote: TaskEvent[] = [];
      const echoed: TaskEvent[] = [];
      const stops = [
        watcher.server.services.events.subscribe((event, local) => {
          if (!local) remote.push(event);
        }),
        sender.server.services.events.subscribe((event, local) => {
          if (!local) echoed.push(event);
        }),
      ];
      return { remote, echoed, stop: () => stops.forEach((stop) => stop()) };
    }

    it('delivers every pending event of a batch of 1,000 to a watcher on another node', async () => {
      const seen = watch();
      try {
        const specs = Array.from({ length: 1000 }, (_, i) => ({
          spec: {
            apiVersion: 'score.dev/v1b1',
            metadata: { name: `runs-${i}` },
            containers: { web: { image: 'nginx' } },
            workflow: { steps: [] },
          },
        }));
        const response = await fetch(`${sender.url}/api/specs/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ specs }),
        });
        expect(response.status).toBe(202);
        const { tasks } = (await response.json()) as {
          tasks: { task_id: string; application: string }[];
        };
        await waitFor(() => seen.remote.length >= 1000 || undefined, {
          what: '1,000 events on the other node',
        });
        expect(seen.remote.map((e) => e.type === 'task.status' && [e.task_id, e.app_name])).toEqual(
          tasks.map((t) => [t.task_id, t.application]),
        );
        for (const event of seen.remote) {
          expect(event).toMatchObject({ type: 'task.status', status: 'pending', attempt: 0 });
          expect(event).toHaveProperty('error_message', null);
          expect(new Date((event as { at: string }).at).toISOString()).toBe(
            (event as { at: string }).at,
          );
        }
        expect(seen.echoed).toEqual([]);
      } finally {
        seen.stop();
      }
    });

    it('keeps a mix of runs, single events and other kinds whole and in order', async () => {
      const seen = watch();
      const at = (ms: number) => new Date(Date.UTC(2026, 11, 6, 20, 0, 0, ms)).toISOString();
      const status = (
        i: number,
        status: 'pending' | 'running' | 'failed',
        attempt: number,
        error: string | null,
        time: string,
      ): TaskEvent => ({
        type: 'task.status',
        task_id: `task-mix-${i}`,
        app_name: `mix-${i}`,
        status,
        attempt,
        error_message: error,
        at: time,
      });
      const events: TaskEvent[] = [
        status(1, 'running', 1, null, at(1)),
        status(2, 'running', 1, null, at(5)),
        status(3, 'running', 1, null, at(5)),
        status(4, 'failed', 1, 'exit 1', at(9)),
        status(5, 'failed', 1, 'exit 1', at(990)),
        status(6, 'failed', 2, 'exit 1', at(990)),
        status(7, 'pending', 0, null, '2026-12-06T20:00:00Z'),
        status(8, 'pending', 0, null, '2026-12-06T20:00:00Z'),
        {
          type: 'step.output',
          task_id: 'task-mix-8',
          attempt: 1,
          position: 0,
          text: 'hi\n',
          skipped: 0,
        },
        status(9, 'pending', 0, null, at(0)),
        status(10, 'pending', 0, null, at(0)),
      ];
      try {
        for (const event of events) sender.server.services.events.publish(event);
        await waitFor(() => seen.remote.length >= events.length || undefined, {
          what: 'the mixed events on the other node',
        });
        expect(seen.remote).toEqual(events);
        expect(seen.echoed).toEqual([]);
      } finally {
        seen.stop();
      }
    });
  },
);
