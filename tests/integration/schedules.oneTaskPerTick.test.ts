// Stored schedules: bad cron expressions and time zones are 400s naming the field; a schedule is
// stored, read, paused, edited and removed; and (PostgreSQL) three nodes ticking one schedule
// every second enqueue exactly one task per tick, none missed, through edits and deletion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSummary } from '@innominatus-queue/client';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';
import {
  getJson,
  specYaml,
  startTestServer,
  TOKEN,
  type TestServer,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
const nodes: TestServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  nodes.push(await startTestServer(database));
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await database?.drop();
});

const spec = (app: string) => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name: app },
  containers: { web: { image: 'nginx' } },
  workflow: { steps: [{ name: 's', type: 'bash', config: { command: 'true' } }] },
});

async function put(name: string, body: unknown) {
  const response = await fetch(`${nodes[0]!.url}/api/schedules/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function scheduleTasks(name: string): Promise<TaskSummary[]> {
  const { body } = await getJson(nodes[0]!.url, '/api/queue/tasks?limit=200');
  return (body.tasks as TaskSummary[]).filter((t) => t.metadata.schedule === name);
}

describe('schedules', () => {
  it.each([
    [{ cron: 'every day', spec: spec('s-app') }, 'cron'],
    [{ cron: '61 * * * *', spec: spec('s-app') }, 'cron'],
    [{ cron: '* * * * *', timezone: 'Mars/Phobos', spec: spec('s-app') }, 'timezone'],
    [{ cron: '* * * * *', spec: { metadata: { name: 's-app' } } }, 'spec.apiVersion'],
  ])('refuses %j with a 400 naming %s', async (body, field) => {
    const { status, body: answer } = await put('bad', body);
    expect(status).toBe(400);
    expect((answer.error.details as { path: string }[]).map((d) => d.path)).toContain(field);
  });

  it('stores, shows, pauses, edits and removes a schedule (spec as a YAML string)', async () => {
    const yaml = specYaml('nightly-app', ['true']);
    const created = await put('nightly', {
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      spec: yaml,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'nightly', app_name: 'nightly-app', paused: false });
    expect(created.body.next_runs).toHaveLength(5);
    // 03:00 in Berlin is 01:00 or 02:00 UTC.
    expect(created.body.next_runs[0]).toMatch(/T0[12]:00:00\.000Z$/);
    const client = nodes[0]!.client;
    await client.pauseSchedule('nightly');
    expect((await client.schedules()).schedules[0]).toMatchObject({
      paused: true,
      next_run_at: null,
    });
    await client.resumeSchedule('nightly');
    const edited = await put('nightly', { cron: '30 4 * * 1', spec: spec('nightly-app') });
    expect(edited).toMatchObject({ status: 200, body: { cron: '30 4 * * 1', timezone: 'UTC' } });
    await client.deleteSchedule('nightly');
    const gone = await getJson(nodes[0]!.url, '/api/schedules/nightly', TOKEN);
    expect(gone.status).toBe(404);
  });

  // PostgreSQL runs the three-node case below instead.
  it.skipIf(onPostgres)('ticks on the embedded database too', async () => {
    await put('pglite-tick', { cron: '* * * * * *', spec: spec('tick-app') });
    const tasks = await waitFor(
      async () => {
        const found = await scheduleTasks('pglite-tick');
        return found.length >= 2 ? found : undefined;
      },
      { what: 'two ticks', timeoutMs: 10_000, intervalMs: 200 },
    );
    await nodes[0]!.client.deleteSchedule('pglite-tick');
    const ticks = tasks.map((t) => Date.parse(t.metadata.scheduled_for!));
    expect(new Set(ticks).size).toBe(ticks.length);
  });

  it.skipIf(!onPostgres)(
    `enqueues exactly one task per tick across three nodes (${onPostgres ? 'running' : POSTGRES_ONLY_MESSAGE})`,
    async () => {
      nodes.push(await startTestServer(database), await startTestServer(database));
      await put('every-second', { cron: '* * * * * *', spec: spec('tick-app') });
      const ten = await waitFor(
        async () => {
          const tasks = await scheduleTasks('every-second');
          return tasks.length >= 10 ? tasks : undefined;
        },
        { what: 'ten ticks', timeoutMs: 20_000, intervalMs: 200 },
      );
      // An edit while ticking: later ticks enqueue the new spec.
      await put('every-second', { cron: '* * * * * *', spec: spec('tick-app-b') });
      await waitFor(
        async () => (await scheduleTasks('every-second')).some((t) => t.app_name === 'tick-app-b'),
        { what: 'a tick of the edited schedule', intervalMs: 200 },
      );
      await nodes[1]!.client.deleteSchedule('every-second');
      const tasks = await scheduleTasks('every-second');
      const ticks = tasks.map((t) => Date.parse(t.metadata.scheduled_for!)).sort((a, b) => a - b);
      // One task per tick, and no tick missed between the first and the last.
      expect(new Set(ticks).size).toBe(ticks.length);
      expect(ticks[ticks.length - 1]! - ticks[0]!).toBe((ticks.length - 1) * 1000);
      const firstTen = ticks.slice(0, 10);
      expect(
        tasks.filter((t) => firstTen.includes(Date.parse(t.metadata.scheduled_for!))),
      ).toHaveLength(10);
      expect(ten.every((t) => t.metadata.source === 'schedule')).toBe(true);
      // Deleted: no more ticks.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await scheduleTasks('every-second')).toHaveLength(tasks.length);
    },
  );
});
