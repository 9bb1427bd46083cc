// Retry from the failed step: a workflow whose third step fails once is retried with
// ?from=failed; steps 1 and 2 do not run again, their files are still in the working directory,
// and the task's record shows all three steps.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import {
  postSpec,
  specYaml,
  startTestServer,
  TOKEN,
  type TestServer,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let database: TestDatabase;
let node: TestServer;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'resume-test-'));
  database = await createTestDatabase();
  node = await startTestServer(database, { WORK_DIR: path.join(dir, 'work') });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const finished = (taskId: string) =>
  waitFor(
    async () => {
      const task = await node.client.task(taskId);
      return ['completed', 'failed', 'cancelled'].includes(task.status) ? task : undefined;
    },
    { what: `task ${taskId} to finish` },
  );

async function retry(taskId: string, query: string) {
  const response = await fetch(`${node.url}/api/queue/tasks/${taskId}/retry${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const lines = async (file: string) =>
  (await fs.readFile(path.join(dir, file), 'utf8')).split('\n').filter(Boolean).length;

describe('retry from the failed step', () => {
  it('runs only the failed step and those after it, on the files the earlier ones left', async () => {
    const yaml = specYaml('resume-app', [
      `echo one > one.txt; echo ran >> ${dir}/step1`,
      `echo two > two.txt; echo ran >> ${dir}/step2`,
      `test -f one.txt && test -f two.txt || exit 3; if [ ! -f ${dir}/flag ]; then touch ${dir}/flag; exit 1; fi; echo resumed`,
    ]);
    const { body } = await postSpec(node.url, yaml);
    const taskId = body.task_id as string;
    expect((await finished(taskId)).status).toBe('failed');
    await fs.access(path.join(dir, 'work', 'failed', taskId, 'one.txt'));

    const retried = await retry(taskId, '?from=failed');
    expect(retried).toMatchObject({ status: 200, body: { status: 'pending' } });
    expect(retried.body.message).toContain('from step 3');
    const task = await finished(taskId);
    expect(task.status).toBe('completed');
    expect(await lines('step1')).toBe(1);
    expect(await lines('step2')).toBe(1);
    expect(task.steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed']);
    expect(task.steps[2]!.output).toContain('resumed');
    // The kept directory was taken over by the resumed attempt and removed when it completed.
    await expect(fs.access(path.join(dir, 'work', 'failed', taskId))).rejects.toThrow();
  });

  it('refuses a task that has not failed, and a bad from', async () => {
    const { body } = await postSpec(node.url, specYaml('resume-app', ['true']));
    const taskId = body.task_id as string;
    await finished(taskId);
    expect((await retry(taskId, '?from=failed')).status).toBe(409);
    const bad = await retry(taskId, '?from=middle');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('from');
  });
});
