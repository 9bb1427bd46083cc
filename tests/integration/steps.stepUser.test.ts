// STEP_USER: a server running as root runs each step as an unprivileged user, in a working
// directory that user owns, unable to read root's files; with the bubblewrap sandbox as without.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoreSpec } from '../../shared/spec.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const isRoot = process.getuid?.() === 0;
let database: TestDatabase;
let node: TestServer;

describe.skipIf(!isRoot).each(['off', 'auto'])(
  `steps as STEP_USER, STEP_SANDBOX=%s (${isRoot ? 'running as root' : 'skipped: run the tests as root to check STEP_USER'})`,
  (sandbox) => {
    beforeAll(async () => {
      database = await createTestDatabase();
      node = await startTestServer(database, { STEP_USER: 'nobody', STEP_SANDBOX: sandbox });
    });
    afterAll(async () => {
      await node?.stop();
      await database?.drop();
    });

    it('runs the step as that user, in a directory it owns, away from root-only files', async () => {
      const spec: ScoreSpec = {
        apiVersion: 'score.dev/v1b1',
        metadata: { name: 'unprivileged-app' },
        containers: { web: { image: 'nginx' } },
        workflow: {
          steps: [
            {
              name: 'whoami',
              type: 'bash',
              config: {
                command:
                  'id -un; stat -c %U "$HOME"; touch "$HOME/ok" /tmp/ok && echo writable; cat /root/.profile >/dev/null 2>&1 || echo "no root files"',
              },
            },
          ],
        },
      };
      const { task_id } = await node.client.enqueueSpec({ spec });
      const task = await waitFor(
        async () => {
          const t = await node.client.task(task_id);
          return t.status === 'completed' || t.status === 'failed' ? t : undefined;
        },
        { what: 'the step to run' },
      );
      expect(task.status).toBe('completed');
      expect(task.steps[0]!.output).toBe('nobody\nnobody\nwritable\nno root files\n');
    });
  },
);
