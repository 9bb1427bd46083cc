// `npx tsx bench/webhookTriggerCost.ts [--tasks 2000]`: what the webhook trigger on queue_tasks
// costs the queue's own statements. Times an enqueue (INSERT), a claim (pending → running) and a
// finish (running → completed), one statement per task as the workers run them, and the
// trigger's own time per row from EXPLAIN ANALYZE of one batch status change; with the trigger
// dropped, with it and no webhook, and with one and three matching webhooks. PostgreSQL when
// BENCH_DATABASE_URL is set (a scratch database is created and dropped), else PGlite in memory.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../server/config.js';
import type { Database } from '../server/db/database.js';
import { migrateDatabase } from '../server/db/migrate.js';
import { openDatabase } from '../server/db/openDatabase.js';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '2000' } } });
const TASKS = Number(values.tasks);
const logger = pino({ level: 'warn' });
const adminUrl = process.env.BENCH_DATABASE_URL;

const VARIANTS = [
  { name: 'no trigger', trigger: false, webhooks: 0 },
  { name: 'trigger, no webhook', trigger: true, webhooks: 0 },
  { name: 'trigger, 1 webhook', trigger: true, webhooks: 1 },
  { name: 'trigger, 3 webhooks', trigger: true, webhooks: 3 },
] as const;

async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  let url: string | undefined;
  const name = `bench_hooks_${randomBytes(4).toString('hex')}`;
  if (adminUrl) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    // Commits without waiting for the disk: the fsync (the same with or without the trigger, and
    // noisy on a shared machine) would drown the trigger's cost.
    await admin.query(`ALTER DATABASE ${name} SET synchronous_commit = off`);
    await admin.end();
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    url = u.toString();
  }
  const config = loadConfig(url ? { DATABASE_URL: url } : { DATA_DIR: 'memory://' });
  const db = await openDatabase(config.database, logger);
  try {
    await migrateDatabase(db, logger);
    return await fn(db);
  } finally {
    await db.close();
    if (adminUrl) {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
}

async function timePerOp(count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) await op(i);
  return ((performance.now() - started) / count) * 1000;
}

async function measure(variant: (typeof VARIANTS)[number]) {
  return withDatabase(async (db) => {
    if (!variant.trigger) {
      await db.query('DROP TRIGGER queue_tasks_webhook_deliveries ON queue_tasks');
    }
    for (let w = 0; w < variant.webhooks; w++) {
      await db.query(
        `INSERT INTO queue_webhooks (name, url, events, secret, created_by)
         VALUES ($1, 'http://203.0.113.1/hook', '{task.started,task.completed}', 'whsec_x', 'bench')`,
        [`hook-${w}`],
      );
    }
    const ids: number[] = [];
    const enqueue = await timePerOp(TASKS, async (i) => {
      const [row] = await db.query<{ id: number }>(
        `INSERT INTO queue_tasks (task_id, app_name, workflow_name, golden_path, spec, steps,
                                  metadata, created_by)
         VALUES ($1, 'bench', 'deploy', 'deploy-app', '{}', '[]', '{}', 'bench') RETURNING id`,
        [`task-${i}`],
      );
      ids.push(row!.id);
    });
    const claim = await timePerOp(TASKS, (i) =>
      db.query(
        `UPDATE queue_tasks SET status = 'running', started_at = now(), attempts = attempts + 1
         WHERE id = $1`,
        [ids[i]],
      ),
    );
    const finish = await timePerOp(TASKS, (i) =>
      db.query(`UPDATE queue_tasks SET status = 'completed', completed_at = now() WHERE id = $1`, [
        ids[i],
      ]),
    );
    // A lease renewal leaves the status alone: the trigger finds no status change to deliver.
    const renew = await timePerOp(TASKS, (i) =>
      db.query(`UPDATE queue_tasks SET lease_expires_at = now() WHERE id = $1`, [ids[i]]),
    );
    // The trigger's own time, as the executor reports it, on one batch of status changes: free
    // of the round trips and commits that make the per-statement figures noisy.
    await db.query(`UPDATE queue_tasks SET status = 'pending'`);
    const [plan] = await db.query<{ 'QUERY PLAN': ExplainPlan[] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) UPDATE queue_tasks SET status = 'running'`,
    );
    const explained = plan!['QUERY PLAN'][0]!;
    const triggerMs = (explained.Triggers ?? [])
      .filter((t) => t['Trigger Name'] === 'queue_tasks_webhook_deliveries')
      .reduce((sum, t) => sum + t.Time, 0);
    const [deliveries] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM queue_webhook_deliveries',
    );
    return {
      enqueue,
      claim,
      finish,
      renew,
      batchRowUs: ((explained['Execution Time'] - triggerMs) / TASKS) * 1000,
      triggerRowUs: (triggerMs / TASKS) * 1000,
      deliveries: deliveries!.n,
    };
  });
}

interface ExplainPlan {
  'Execution Time': number;
  Triggers?: { 'Trigger Name': string; Time: number; Calls: number }[];
}

const rows: string[] = [];
for (const variant of VARIANTS) {
  // Two passes (the machine is shared): the better of the two.
  const a = await measure(variant);
  const b = await measure(variant);
  const best = (k: 'enqueue' | 'claim' | 'finish' | 'renew' | 'batchRowUs' | 'triggerRowUs') =>
    Math.min(a[k], b[k]).toFixed(k === 'batchRowUs' || k === 'triggerRowUs' ? 1 : 0);
  rows.push(
    `| ${variant.name} | ${best('enqueue')} | ${best('claim')} | ${best('finish')} | ${best('renew')} | ${best('batchRowUs')} | ${best('triggerRowUs')} |`,
  );
}
console.log(
  `${adminUrl ? 'PostgreSQL (synchronous_commit off)' : 'PGlite'}, ${TASKS} tasks, µs (best of 2 runs)\n`,
);
console.log(
  '| variant | enqueue | claim | finish | lease renewal | batch status change: row | its trigger: row |',
);
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
