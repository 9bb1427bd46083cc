// The OpenAPI document as other tools take it: Redocly's linter finds no error in it, and a client
// generated from it (openapi-typescript types + openapi-fetch) runs the demo guide's steps.
import fs from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateOpenApiTypes, OPENAPI_TYPES_FILE } from '../../scripts/openapiTypes.js';
import { openApiJson } from '../../server/api/openapi.js';
import type { paths } from '../generated/openapi.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { DEMO_SPEC_YAML, startTestServer, TOKEN, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
let node: TestServer;

beforeAll(async () => {
  database = await createTestDatabase();
  node = await startTestServer(database);
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

it("passes Redocly's recommended rules without an error", async () => {
  const problems = await lintFromString({
    source: openApiJson(),
    absoluteRef: 'openapi.json',
    config: await createConfig({ extends: ['recommended'] }),
  });
  const errors = problems
    .filter((problem) => problem.severity === 'error')
    .map((problem) => `${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer}`);
  expect(errors).toEqual([]);
});

it('has its generated types up to date (npm run openapi:types)', async () => {
  expect(fs.readFileSync(OPENAPI_TYPES_FILE, 'utf8')).toBe(await generateOpenApiTypes());
});

it("runs the guide's steps through an openapi-fetch client", async () => {
  const client = createClient<paths>({ baseUrl: node.url });
  const auth = { authorization: `Bearer ${TOKEN}` };

  // Step 1: the empty queue.
  const empty = await client.GET('/api/queue/stats');
  expect(empty.response.status).toBe(200);
  expect(empty.data?.tasks_enqueued).toBe(0);
  expect((await client.GET('/api/queue/active-tasks')).data).toEqual({ count: 0, tasks: [] });

  // Step 2: enqueue test-score.yaml, as the guide's curl does (a YAML body).
  const enqueued = await client.POST('/api/specs', {
    headers: { ...auth, 'content-type': 'application/yaml' },
    body: DEMO_SPEC_YAML,
    bodySerializer: (body: unknown) => body as string,
  });
  expect(enqueued.response.status).toBe(202);
  expect(enqueued.data).toMatchObject({
    message: "Golden path 'deploy-app' enqueued successfully",
    application: 'demo-app',
    status: 'enqueued',
  });
  const taskId = enqueued.data!.task_id;

  // Step 3: it is active, then it completes and the stats count it.
  // (A worker claims it within a moment; the step then sleeps five seconds.)
  await waitFor(
    async () => {
      const active = await client.GET('/api/queue/active-tasks');
      return active.data?.tasks.some((task) => task.id === taskId) === true;
    },
    { timeoutMs: 10_000, what: `task ${taskId} among the active tasks` },
  );
  const done = await waitFor(
    async () => {
      const { data } = await client.GET('/api/queue/tasks/{id}', {
        params: { path: { id: taskId } },
        headers: auth,
      });
      return data?.status === 'completed' ? data : undefined;
    },
    { timeoutMs: 30_000, what: `task ${taskId} to complete` },
  );
  expect(done.steps[0]?.name).toBe('simulate-work');
  const stats = await client.GET('/api/queue/stats');
  expect(stats.data).toMatchObject({ tasks_enqueued: 1, tasks_completed: 1, queue_size: 0 });
});
