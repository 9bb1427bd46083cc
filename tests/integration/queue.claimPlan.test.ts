// The claim walks the claim index, whatever the statistics say: a backlog of one application,
// analyzed, once made PostgreSQL expect the pause filter to remove every row, and then each claim
// read and sorted the whole backlog (17 ms instead of 0.2 ms with 10,000 pending). PostgreSQL only:
// PGlite plans the same SQL, but the planner's statistics are what is under test here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainPlan } from '../../server/db/explainPlan.js';
import { CLAIM } from '../../server/queue/claimTasks.js';
import type { ScoreSpec } from '../../shared/spec.js';
import {
  createTestDatabase,
  onPostgres,
  POSTGRES_ONLY_MESSAGE,
  type TestDatabase,
} from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

let database: TestDatabase | undefined;
let node: TestServer | undefined;

beforeAll(async () => {
  if (!onPostgres) return;
  database = await createTestDatabase();
  // API only: the backlog stays pending.
  node = await startTestServer(database, { QUEUE_CONCURRENCY: '0' });
});
afterAll(async () => {
  await node?.stop();
  await database?.drop();
});

describe.skipIf(!onPostgres)(
  `the claim statement's plan (${onPostgres ? 'PostgreSQL' : POSTGRES_ONLY_MESSAGE})`,
  () => {
    it('walks the claim index for an analyzed backlog of one application', async () => {
      const spec: ScoreSpec = {
        apiVersion: 'score.dev/v1b1',
        metadata: { name: 'one-app' },
        containers: { web: { image: 'nginx' } },
        workflow: { steps: [] },
      };
      for (let batch = 0; batch < 3; batch++) {
        await node!.client.enqueueSpecs({
          specs: Array.from({ length: 1_000 }, () => ({ spec })),
        });
      }
      const db = node!.server.services.database;
      await db.query('ANALYZE queue_tasks');
      await db.query('ANALYZE queue_pauses');
      const nodes = await explainPlan(db, CLAIM, ['plan-test-node', 5, 30_000]);
      const onTasks = nodes.filter((n) => n['Relation Name'] === 'queue_tasks');
      expect(onTasks.map((n) => n['Node Type'])).not.toContain('Seq Scan');
      expect(nodes.map((n) => n['Node Type'])).not.toContain('Sort');
      expect(onTasks.map((n) => n['Index Name'])).toContain('queue_tasks_claim_idx');
    });
  },
);
