// Peers on the same machine in the same run, so the targets of issue 13 are ratios: graphile-worker
// (no-op jobs on the same PostgreSQL) and BullMQ (on a redis-server of its own, writing every change
// to disk with `appendfsync always`, and with no persistence for reference). A peer whose server
// cannot be had is skipped with a line saying why.
import { Logger, makeWorkerUtils, run, type Runner } from 'graphile-worker';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { startRedis, type RedisPersistence } from '../lib/redisServer.js';
import type { MetricRecorder, Suite } from '../lib/suite.js';

const JOBS = 10_000;
const BATCH = 1_000;
const CONCURRENCIES = [5, 20] as const;

/** Only graphile-worker's errors reach the bench's stderr. */
const quietLogger = new Logger(() => (level, message) => {
  if ((level as string) === 'error') process.stderr.write(`[graphile-worker] ${message}\n`);
});

export const peers: Suite = {
  name: 'peers',
  title: `Peers: graphile-worker and BullMQ, ${JOBS.toLocaleString('en-US')} no-op jobs`,
  async run(ctx) {
    const { metrics, log, runs } = ctx;
    for (const peer of ['graphile', 'bullmq-aof', 'bullmq-none'] as const) {
      for (const c of CONCURRENCIES) {
        metrics.define({
          key: `${peer}-c${c}`,
          label: `${PEER_NAMES[peer]}, concurrency ${c}, first start to last completion`,
          unit: 'jobs/s',
        });
      }
      metrics.define({
        key: `${peer}-batch`,
        label: `${PEER_NAMES[peer]}, ${peer === 'graphile' ? 'addJobs' : 'addBulk'} of ${BATCH.toLocaleString('en-US')}`,
        unit: 'jobs/s',
      });
    }

    if (ctx.kind === 'postgres') {
      const db = await ctx.databases.create('graphile');
      try {
        for (let r = 1; r <= runs; r++) await graphileRun(db.env.DATABASE_URL!, metrics, log);
      } finally {
        await db.drop();
      }
    } else {
      skip(metrics, log, 'graphile-worker', 'it needs PostgreSQL: set BENCH_DATABASE_URL');
    }

    for (const [peer, persistence] of [
      ['bullmq-aof', 'aof-always'],
      ['bullmq-none', 'none'],
    ] as const) {
      let redis;
      try {
        redis = await startRedis(persistence);
      } catch (error) {
        skip(metrics, log, PEER_NAMES[peer], `its redis-server could not start: ${String(error)}`);
        continue;
      }
      try {
        metrics.note(`BullMQ on redis-server ${redis.version} (${describe(persistence)}).`);
        for (let r = 1; r <= runs; r++) await bullRun(peer, redis.port, r, metrics, log);
      } finally {
        await redis.stop();
      }
    }
  },
};

const PEER_NAMES = {
  graphile: 'graphile-worker',
  'bullmq-aof': 'BullMQ, appendfsync always',
  'bullmq-none': 'BullMQ, no persistence',
} as const;

function describe(persistence: RedisPersistence): string {
  return persistence === 'aof-always' ? 'appendonly yes, appendfsync always' : 'no persistence';
}

function skip(metrics: MetricRecorder, log: (m: string) => void, peer: string, why: string): void {
  const line = `SKIPPED ${peer}: ${why}.`;
  metrics.note(line);
  log(line);
}

/** Milliseconds from the first job's start to the last job's end, as the peer reports them. */
class Span {
  private first = 0;
  private last = 0;
  private done = 0;
  private resolveAll: (() => void) | undefined;
  readonly all: Promise<void>;

  constructor(private readonly expected: number) {
    this.all = new Promise((resolve) => (this.resolveAll = resolve));
  }

  started(): void {
    if (this.first === 0) this.first = performance.now();
  }

  finished(): void {
    this.done += 1;
    this.last = performance.now();
    if (this.done === this.expected) this.resolveAll?.();
  }

  perSecond(): number {
    return (this.expected / (this.last - this.first)) * 1000;
  }
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function graphileRun(
  connectionString: string,
  metrics: MetricRecorder,
  log: (m: string) => void,
): Promise<void> {
  // A pool of our own, so that its connections' errors (the database is dropped after the suite)
  // are handled here and the pool is ended before the drop.
  const pgPool = new pg.Pool({ connectionString, max: 30 });
  pgPool.on('error', () => undefined);
  // And each client's own (graphile-worker asks for both, and warns on stderr without them).
  pgPool.on('connect', (client) => client.on('error', () => undefined));
  const utils = await makeWorkerUtils({ pgPool, logger: quietLogger });
  try {
    await utils.migrate();
    for (const c of CONCURRENCIES) {
      // The backlog, in batches of BATCH: addJobs is also graphile-worker's batch enqueue.
      const batchRates: number[] = [];
      for (let added = 0; added < JOBS; added += BATCH) {
        const jobs = Array.from({ length: BATCH }, (_, i) => ({
          identifier: 'noop',
          payload: { n: added + i },
        }));
        const started = performance.now();
        await utils.addJobs(jobs);
        batchRates.push((BATCH / (performance.now() - started)) * 1000);
      }
      metrics.record('graphile-batch', median(batchRates));

      const span = new Span(JOBS);
      const runner: Runner = await run({
        pgPool,
        concurrency: c,
        noHandleSignals: true,
        pollInterval: 1_000,
        logger: quietLogger,
        taskList: { noop: () => Promise.resolve() },
      });
      runner.events.on('job:start', () => span.started());
      runner.events.on('job:success', () => span.finished());
      try {
        await within(span.all, 600_000, `graphile-worker draining ${JOBS} jobs`);
      } finally {
        await runner.stop();
      }
      metrics.record(`graphile-c${c}`, span.perSecond());
      log(
        `graphile-worker c${c}: ${span.perSecond().toFixed(0)} jobs/s; addJobs ${median(batchRates).toFixed(0)} jobs/s`,
      );
    }
  } finally {
    await utils.release();
    await pgPool.end();
  }
}

async function bullRun(
  peer: 'bullmq-aof' | 'bullmq-none',
  port: number,
  run: number,
  metrics: MetricRecorder,
  log: (m: string) => void,
): Promise<void> {
  const connection = { host: '127.0.0.1', port };
  for (const c of CONCURRENCIES) {
    const name = `bench-r${run}-c${c}`;
    const queue = new Queue(name, { connection });
    try {
      const batchRates: number[] = [];
      for (let added = 0; added < JOBS; added += BATCH) {
        const jobs = Array.from({ length: BATCH }, (_, i) => ({
          name: 'noop',
          data: { n: added + i },
        }));
        const started = performance.now();
        await queue.addBulk(jobs);
        batchRates.push((BATCH / (performance.now() - started)) * 1000);
      }
      metrics.record(`${peer}-batch`, median(batchRates));

      const span = new Span(JOBS);
      const worker = new Worker(name, () => Promise.resolve(), {
        connection,
        concurrency: c,
      });
      worker.on('active', () => span.started());
      worker.on('completed', () => span.finished());
      try {
        await within(span.all, 600_000, `BullMQ draining ${JOBS} jobs`);
      } finally {
        await worker.close();
      }
      metrics.record(`${peer}-c${c}`, span.perSecond());
      log(
        `${PEER_NAMES[peer]} c${c}: ${span.perSecond().toFixed(0)} jobs/s; addBulk ${median(batchRates).toFixed(0)} jobs/s`,
      );
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      // Never hides the error that got us here.
      await queue.close().catch(() => undefined);
    }
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
