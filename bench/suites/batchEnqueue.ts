// Batch enqueue: POST /api/specs/batch with 1,000 empty-workflow specs, one request at a time
// against an API-only node; tasks per second of each request (parse, check, one transaction).
import { AUTH_HEADER } from '../lib/serverProcess.js';
import { JSON_HEADERS } from '../lib/specs.js';
import { latencySummary } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';

const BATCH = 1_000;
const REQUESTS = 10;
const WARMUP = 3;

/** `{ "specs": [...] }` of BATCH empty-workflow specs, one application name per spec. */
export function batchBody(app: string, size = BATCH): string {
  return JSON.stringify({
    specs: Array.from({ length: size }, (_, i) => ({
      spec: {
        apiVersion: 'score.dev/v1b1',
        metadata: { name: `${app}-${i}` },
        containers: { web: { image: 'nginx:latest' } },
        workflow: { steps: [] },
      },
    })),
  });
}

/** POSTs one batch; resolves with its milliseconds, throws unless it was accepted. */
export async function postBatch(url: string, body: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/api/specs/batch`, {
    method: 'POST',
    headers: { ...AUTH_HEADER, ...JSON_HEADERS },
    body,
  });
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 202) throw new Error(`POST /api/specs/batch: ${response.status} ${text}`);
  return ms;
}

export const batchEnqueue: Suite = {
  name: 'batch-enqueue',
  title: `Batch enqueue, ${BATCH.toLocaleString('en-US')} specs per request`,
  async run({ databases, servers, metrics, runs, log }) {
    metrics.define({
      key: 'rate',
      label: `POST /api/specs/batch of ${BATCH.toLocaleString('en-US')}, median request`,
      unit: 'tasks/s',
      target: { op: '>=', value: 25_000 },
    });
    metrics.define({ key: 'p50', label: 'request time p50', unit: 'ms' });
    metrics.note(
      `${REQUESTS} sequential requests per run after ${WARMUP} warm-up ones, API-only node, JSON body of ${BATCH} empty-workflow specs (~${Math.round(batchBody('x').length / 1024)} KiB).`,
    );
    const db = await databases.create('batch_enqueue');
    const server = await servers.start(db, { concurrency: 0, label: 'batch-enqueue' });
    for (let i = 0; i < WARMUP; i++) await postBatch(server.url, batchBody(`warm${i}`));
    for (let run = 1; run <= runs; run++) {
      const times: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        times.push(await postBatch(server.url, batchBody(`r${run}-${i}`)));
      }
      const { p50 } = latencySummary(times);
      metrics.record('rate', (BATCH / p50) * 1000);
      metrics.record('p50', p50);
      log(
        `run ${run}: p50 ${p50.toFixed(1)} ms per ${BATCH} (${((BATCH / p50) * 1000).toFixed(0)} tasks/s)`,
      );
    }
    await server.stop();
  },
};
