// POST /api/specs/batch and tRPC enqueueSpecs: every spec checked first (problems named by index
// and field, nothing stored), then all stored in one transaction, answered in order.
import { describe, expect, it } from 'vitest';
import { QueueClientError } from '@innominatus-queue/client';
import type { ScoreSpec } from '../../shared/spec.js';
import { specYaml, TOKEN, useApiOnlyNode } from '../helpers/testServer.js';

const api = useApiOnlyNode();

function spec(name: string): ScoreSpec {
  return {
    apiVersion: 'score.dev/v1b1',
    metadata: { name },
    containers: { web: { image: 'nginx' } },
    workflow: { steps: [] },
  };
}

async function postBatch(
  body: string,
  options: { contentType?: string; query?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api.node.url}/api/specs/batch${options.query ?? ''}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': options.contentType ?? 'application/json',
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Row {
  task_id: string;
  app_name: string;
  golden_path: string;
  priority: number;
  id: number;
}

async function rowsOf(prefix: string): Promise<Row[]> {
  return api.node.server.services.database.query<Row>(
    `SELECT id, task_id, app_name, golden_path, priority FROM queue_tasks
     WHERE app_name LIKE $1 ORDER BY id`,
    [`${prefix}%`],
  );
}

describe('POST /api/specs/batch', () => {
  it('stores a JSON batch in order, each spec with its own golden path, priority and key', async () => {
    const { status, body } = await postBatch(
      JSON.stringify({
        specs: [
          { spec: spec('json-a') },
          { spec: spec('json-b'), golden_path: 'ephemeral-env', priority: 7 },
          { spec: spec('json-c'), idempotency_key: 'batch-key-1' },
          { spec: spec('json-d'), idempotency_key: 'batch-key-1' },
          { spec: spec('json-e') },
        ],
      }),
    );
    expect(status).toBe(202);
    const tasks = body.tasks as { task_id: string; application: string; created: boolean }[];
    expect(tasks.map((t) => t.application)).toEqual([
      'json-a',
      'json-b',
      'json-c',
      'json-c',
      'json-e',
    ]);
    expect(tasks.every((t) => /^task-\d{19}-\d+$/.test(t.task_id))).toBe(true);
    // The same key twice in one batch: the second gets the first one's task.
    expect(tasks[3]!.task_id).toBe(tasks[2]!.task_id);
    expect(tasks.map((t) => t.created)).toEqual([true, true, true, false, true]);
    const rows = await rowsOf('json-');
    expect(rows.map((r) => r.task_id)).toEqual([0, 1, 2, 4].map((i) => tasks[i]!.task_id));
    expect(rows[1]).toMatchObject({ golden_path: 'ephemeral-env', priority: 7 });
    expect(rows[0]).toMatchObject({ golden_path: 'deploy-app', priority: 0 });
  });

  it('stores multi-document YAML, the query applying to every spec', async () => {
    const yaml = ['yaml-a', 'yaml-b', 'yaml-c'].map((n) => specYaml(n, ['true'])).join('\n---\n');
    const { status, body } = await postBatch(`${yaml}\n---\n`, {
      contentType: 'application/yaml',
      query: '?golden_path=ephemeral-env&priority=-3',
    });
    expect(status).toBe(202);
    expect((body.tasks as { application: string }[]).map((t) => t.application)).toEqual([
      'yaml-a',
      'yaml-b',
      'yaml-c',
    ]);
    const rows = await rowsOf('yaml-');
    expect(rows.map((r) => [r.app_name, r.golden_path, r.priority])).toEqual([
      ['yaml-a', 'ephemeral-env', -3],
      ['yaml-b', 'ephemeral-env', -3],
      ['yaml-c', 'ephemeral-env', -3],
    ]);
  });

  it('names the index and field of every problem and stores nothing', async () => {
    const { status, body } = await postBatch(
      JSON.stringify({
        specs: [
          { spec: spec('bad-a') },
          { spec: { ...spec('bad-b'), metadata: { name: 'Not A Label' } } },
          { spec: spec('bad-c'), golden_path: 'no-such-path' },
          { spec: spec('bad-d'), priority: 5000 },
        ],
      }),
    );
    expect(status).toBe(400);
    const error = body.error as { code: string; message: string; details: { path: string }[] };
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.details.map((d) => d.path).sort()).toEqual([
      'specs[1].spec.metadata.name',
      'specs[2].golden_path',
      'specs[3].priority',
    ]);
    expect(await rowsOf('bad-')).toEqual([]);

    const unknown = await postBatch(
      JSON.stringify({
        specs: [{ spec: spec('bad-e') }, { spec: spec('bad-f'), golden_path: 'nope' }],
      }),
    );
    expect(unknown.status).toBe(400);
    expect(
      (unknown.body.error as { details: { path: string; message: string }[] }).details,
    ).toEqual([
      {
        path: 'specs[1].golden_path',
        message: expect.stringContaining("unknown golden path 'nope'"),
      },
    ]);
    expect(await rowsOf('bad-')).toEqual([]);
  });

  it('names the YAML document of each problem', async () => {
    const yaml = [
      specYaml('ydoc-a', ['true']),
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: ydoc-b\n',
    ].join('\n---\n');
    const { status, body } = await postBatch(yaml, { contentType: 'application/yaml' });
    expect(status).toBe(400);
    expect((body.error as { details: { path: string }[] }).details.map((d) => d.path)).toEqual([
      'documents[1].containers',
    ]);
    expect(await rowsOf('ydoc-')).toEqual([]);
  });

  it('refuses an empty batch, more than 1,000 specs, and a body that is not a batch', async () => {
    expect((await postBatch(JSON.stringify({ specs: [] }))).status).toBe(400);
    const tooMany = await postBatch(
      JSON.stringify({ specs: Array.from({ length: 1001 }, () => ({ spec: spec('many') })) }),
    );
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(tooMany.body)).toContain('at most 1000 specs');
    const notBatch = await postBatch('[1, 2]');
    expect(notBatch.status).toBe(400);
    expect((notBatch.body.error as { message: string }).message).toContain('must be a batch');
    const keyed = await fetch(`${api.node.url}/api/specs/batch`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'idempotency-key': 'whole-batch',
      },
      body: JSON.stringify({ specs: [{ spec: spec('many') }] }),
    });
    expect(keyed.status).toBe(400);
    expect(await keyed.text()).toContain('idempotency_key');
    expect(await rowsOf('many')).toEqual([]);
  });

  it('stores 1,000 specs in one request', async () => {
    const specs = Array.from({ length: 1000 }, (_, i) => ({ spec: spec(`big-${i}`) }));
    const { status, body } = await postBatch(JSON.stringify({ specs }));
    expect(status).toBe(202);
    const tasks = body.tasks as { application: string; task_id: string }[];
    expect(tasks.map((t) => t.application)).toEqual(specs.map((s) => s.spec.metadata.name));
    const rows = await rowsOf('big-');
    expect(rows.length).toBe(1000);
    // Ids follow the batch's order (FIFO within a priority).
    const order = new Map(tasks.map((t, i) => [t.task_id, i]));
    expect(rows.map((r) => order.get(r.task_id))).toEqual(tasks.map((_, i) => i));
  });
});

describe('tRPC enqueueSpecs', () => {
  it('stores the batch through the SDK and names problems by index', async () => {
    const result = await api.node.client.enqueueSpecs({
      specs: [{ spec: spec('sdk-a') }, { spec: spec('sdk-b'), priority: 2 }],
    });
    expect(result.tasks.map((t) => t.application)).toEqual(['sdk-a', 'sdk-b']);
    expect((await rowsOf('sdk-')).map((r) => r.priority)).toEqual([0, 2]);

    const failure = await api.node.client
      .enqueueSpecs({
        specs: [
          { spec: spec('sdk-c') },
          { spec: spec('sdk-d'), goldenPath: 'missing-path' },
          { spec: { ...spec('sdk-e'), containers: {} } },
        ],
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(QueueClientError);
    const details = (failure as QueueClientError).details?.map((d) => d.path);
    expect(details).toEqual(['specs[2].spec.containers']);
    const unknown = await api.node.client
      .enqueueSpecs({ specs: [{ spec: spec('sdk-f'), goldenPath: 'missing-path' }] })
      .catch((error: unknown) => error);
    expect((unknown as QueueClientError).details?.map((d) => d.path)).toEqual([
      'specs[0].goldenPath',
    ]);
    expect((await rowsOf('sdk-')).length).toBe(2);
  });
});
