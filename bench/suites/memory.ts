// 6. Memory: resident set size (VmRSS from /proc/<pid>/status) of idle nodes, and of nodes on a
// database holding 10,000 pending tasks. Tasks wait in the table, not in the node, so the
// second figures should be close to the first. On PGlite the database lives in the node, and
// its pages count too.
import { enqueueMany } from '../lib/queueApi.js';
import type { BenchServer } from '../lib/serverProcess.js';
import { guideSpec } from '../lib/specs.js';
import type { Suite } from '../lib/suite.js';

const PENDING = 10_000;
const SETTLE_MS = 2_000;

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

async function rss(server: BenchServer): Promise<{ rssMiB: number; peakMiB: number }> {
  await settle();
  return server.memory();
}

export const memory: Suite = {
  name: 'memory',
  title: 'Memory (RSS)',
  async run({ kind, databases, servers, metrics, runs, log }) {
    metrics.define({ key: 'idle-worker', label: 'idle worker node (5 workers)', unit: 'MiB' });
    metrics.define({ key: 'idle-api', label: 'idle API-only node', unit: 'MiB' });
    metrics.define({
      key: 'api-10k',
      label: `API-only node after enqueueing ${PENDING.toLocaleString('en-US')} (pending)`,
      unit: 'MiB',
    });
    metrics.define({ key: 'api-10k-peak', label: 'same, peak (VmHWM)', unit: 'MiB' });
    metrics.define({
      key: 'worker-10k',
      label: `worker node (5 workers busy) on ${PENDING.toLocaleString('en-US')} pending`,
      unit: 'MiB',
    });
    metrics.note(
      `VmRSS ${SETTLE_MS / 1000} s after each step; a fresh database per run; the guide's spec (5 s sleep) so the workers stay busy.`,
    );

    if (kind === 'pglite') {
      metrics.note('PGlite runs inside the node: these figures include the database itself.');
    }
    for (let run = 1; run <= runs; run++) {
      const db = await databases.create(`memory_r${run}`);
      // The first start creates the schema (and, on PGlite, the cluster itself, which leaves a
      // larger heap behind): a node started once and stopped first, not measured.
      await (await servers.start(db, { concurrency: 0, label: 'memory-init' })).stop();
      const idleWorker = await servers.start(db, { concurrency: 5, label: 'memory-worker' });
      const w = await rss(idleWorker);
      await idleWorker.stop();

      const api = await servers.start(db, { concurrency: 0, label: 'memory-api' });
      const idle = await rss(api);
      await enqueueMany(api.url, JSON.stringify(guideSpec('memory')), PENDING, 16);
      const loaded = await rss(api);
      await api.stop();

      const busy = await servers.start(db, {
        concurrency: 5,
        label: 'memory-worker-busy',
        env: { SHUTDOWN_TIMEOUT: '1' },
      });
      const b = await rss(busy);
      await busy.stop();
      await db.drop();

      metrics.record('idle-worker', w.rssMiB);
      metrics.record('idle-api', idle.rssMiB);
      metrics.record('api-10k', loaded.rssMiB);
      metrics.record('api-10k-peak', loaded.peakMiB);
      metrics.record('worker-10k', b.rssMiB);
      log(
        `run ${run}: idle worker ${w.rssMiB.toFixed(0)} MiB, idle API ${idle.rssMiB.toFixed(0)} MiB, API after ${PENDING} enqueues ${loaded.rssMiB.toFixed(0)} MiB (peak ${loaded.peakMiB.toFixed(0)}), busy worker ${b.rssMiB.toFixed(0)} MiB`,
      );
    }
  },
};
