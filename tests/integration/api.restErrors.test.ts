// REST routes answer every bad request with the right status and one JSON error shape, and store
// nothing for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBodySchema } from '../../shared/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import {
  DEMO_SPEC_YAML,
  getJson,
  postSpec,
  startTestServer,
  type TestServer,
} from '../helpers/testServer.js';

let database: TestDatabase;
let node: TestServer;

beforeAll(async () => {
  database = await createTestDatabase();
  // No workers: tasks stay pending, so counting rows tells what was stored.
  node = await startTestServer(database, { QUEUE_CONCURRENCY: '0', BODY_LIMIT: '65536' });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

async function taskCount(): Promise<number> {
  const [row] = await node.server.services.database.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM queue_tasks',
  );
  return row!.n;
}

function expectError(body: unknown, code: string) {
  const parsed = errorBodySchema.parse(body);
  expect(parsed.error.code).toBe(code);
  expect(parsed.error.message.length).toBeGreaterThan(10);
  return parsed.error;
}

describe('POST /api/specs refuses bad requests', () => {
  it('401 without a token, with a wrong token, and with another scheme', async () => {
    const before = await taskCount();
    for (const token of [null, 'wrong-token-123']) {
      const { status, body } = await postSpec(node.url, DEMO_SPEC_YAML, { token });
      expect(status).toBe(401);
      expectError(body, 'UNAUTHORIZED');
    }
    const basic = await fetch(`${node.url}/api/specs`, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml', authorization: 'Basic dGVzdDp0ZXN0' },
      body: DEMO_SPEC_YAML,
    });
    expect(basic.status).toBe(401);
    expect(await taskCount()).toBe(before);
  });

  it('400 for YAML that does not parse, naming the format', async () => {
    const { status, body } = await postSpec(node.url, 'apiVersion: [unclosed\nmetadata: {');
    expect(status).toBe(400);
    expect(expectError(body, 'BAD_REQUEST').message).toMatch(/not valid YAML/);
  });

  it('400 for JSON that does not parse', async () => {
    const { status, body } = await postSpec(node.url, '{"apiVersion": ', {
      contentType: 'application/json',
    });
    expect(status).toBe(400);
    expect(expectError(body, 'BAD_REQUEST').message).toMatch(/not valid JSON/);
  });

  it('400 naming every failing field and its rule', async () => {
    const spec = `apiVersion: score.dev/v2
metadata:
  name: Demo_App
containers: {}
workflow:
  steps:
    - name: build
      type: python
      config: {}
`;
    const { status, body } = await postSpec(node.url, spec);
    expect(status).toBe(400);
    const error = expectError(body, 'BAD_REQUEST');
    const paths = error.details?.map((d) => d.path);
    expect(paths).toEqual(['apiVersion', 'metadata.name', 'containers', 'workflow.steps[0].type']);
    expect(error.message).toContain('metadata.name: must be a DNS label');
    expect(error.details?.[3]?.message).toBe(
      "unsupported step type 'python'; supported types: bash",
    );
  });

  it('accepts JSON specs as well as YAML', async () => {
    const spec = {
      apiVersion: 'score.dev/v1b1',
      metadata: { name: 'json-app' },
      containers: { web: { image: 'nginx' } },
      workflow: { steps: [] },
    };
    const { status, body } = await postSpec(node.url, JSON.stringify(spec), {
      contentType: 'application/json; charset=utf-8',
    });
    expect(status).toBe(202);
    expect(body.application).toBe('json-app');
  });

  it.each(['application/yaml', 'application/x-yaml', 'text/yaml'])(
    'accepts %s',
    async (contentType) => {
      const { status } = await postSpec(node.url, DEMO_SPEC_YAML, { contentType });
      expect(status).toBe(202);
    },
  );

  it('415 for an unsupported content type, listing the supported ones', async () => {
    const before = await taskCount();
    const { status, body } = await postSpec(node.url, DEMO_SPEC_YAML, {
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(status).toBe(415);
    expect(expectError(body, 'UNSUPPORTED_MEDIA_TYPE').message).toContain('application/yaml');
    const text = await postSpec(node.url, DEMO_SPEC_YAML, { contentType: 'text/plain' });
    expect(text.status).toBe(415);
    expect(await taskCount()).toBe(before);
  });

  it('413 for a body over the limit', async () => {
    const big = DEMO_SPEC_YAML + `# ${'x'.repeat(70_000)}\n`;
    const { status, body } = await postSpec(node.url, big);
    expect(status).toBe(413);
    expectError(body, 'PAYLOAD_TOO_LARGE');
  });

  it('400 for an empty body', async () => {
    const { status, body } = await postSpec(node.url, '');
    expect(status).toBe(400);
    expect(expectError(body, 'BAD_REQUEST').message).toMatch(/empty/);
  });

  it('404 for an unknown golden path, 400 for a name that is not a plain identifier', async () => {
    const unknown = await postSpec(node.url, DEMO_SPEC_YAML, {
      query: '?golden_path=no-such-path',
    });
    expect(unknown.status).toBe(404);
    expect(expectError(unknown.body, 'NOT_FOUND').message).toContain('deploy-app');
    for (const name of ['..%2F..%2Fetc%2Fpasswd', 'Deploy_App', '%20']) {
      const bad = await postSpec(node.url, DEMO_SPEC_YAML, { query: `?golden_path=${name}` });
      expect(bad.status).toBe(400);
      expectError(bad.body, 'BAD_REQUEST');
    }
  });

  it('runs a shipped golden path chosen with ?golden_path=', async () => {
    const { status, body } = await postSpec(node.url, DEMO_SPEC_YAML, {
      query: '?golden_path=ephemeral-env',
    });
    expect(status).toBe(202);
    expect(body.message).toBe("Golden path 'ephemeral-env' enqueued successfully");
    const [row] = await node.server.services.database.query<{ workflow_name: string }>(
      'SELECT workflow_name FROM queue_tasks WHERE task_id = $1',
      [body.task_id],
    );
    expect(row?.workflow_name).toBe('golden-path-ephemeral-env');
  });

  it("a spec without a workflow gets the golden path's steps", async () => {
    const spec =
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: bare-app\ncontainers:\n  web:\n    image: nginx\n';
    const { status, body } = await postSpec(node.url, spec);
    expect(status).toBe(202);
    const [row] = await node.server.services.database.query<{ steps: { name: string }[] }>(
      'SELECT steps FROM queue_tasks WHERE task_id = $1',
      [body.task_id],
    );
    const goldenPath = node.server.services.goldenPaths.get('deploy-app')!;
    expect(row?.steps.map((s) => s.name)).toEqual(goldenPath.workflow.steps.map((s) => s.name));
  });

  it('404 JSON for an unknown route', async () => {
    const { status, body } = await getJson(node.url, '/api/nope');
    expect(status).toBe(404);
    expectError(body, 'NOT_FOUND');
  });

  it('echoes a request id', async () => {
    const response = await fetch(`${node.url}/api/queue/stats`, {
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(response.headers.get('x-request-id')).toBe('abc-123');
    const generated = await fetch(`${node.url}/api/queue/stats`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('reads', () => {
  it('stats and active tasks answer without a token, as the guide shows', async () => {
    expect((await getJson(node.url, '/api/queue/stats')).status).toBe(200);
    const active = await getJson(node.url, '/api/queue/active-tasks');
    expect(active.status).toBe(200);
    expect(active.body).toEqual({ count: 0, tasks: [] });
  });

  it('a read with a wrong token is refused', async () => {
    expect((await getJson(node.url, '/api/queue/stats', 'not-a-valid-token')).status).toBe(401);
  });

  it('an API-only node reports 0 workers and keeps tasks pending', async () => {
    const { body } = await getJson(node.url, '/api/queue/stats');
    expect(body.workers).toBe(0);
    expect(body.queue_size).toBe(await taskCount());
    expect(node.rawLogs()).toContain('initialized with 0 workers (API-only node');
  });

  it('/health and /ready report the database', async () => {
    const health = await getJson(node.url, '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', database: { reachable: true } });
    const ready = await getJson(node.url, '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.ready).toBe(true);
  });
});
