// 1. Enqueue latency: one client, one request at a time, on an API-only node (no workers to
// compete): POST /api/specs with the guide's YAML over REST, then enqueueSpec through the SDK.
import { createQueueClient } from '@innominatus-queue/client';
import type { FetchLike } from '../../client/src/queueClient.js';
import { createTransport } from '../../client/src/transport.js';
import { expectAllOk, runLoad } from '../lib/load.js';
import { AUTH_HEADER, BENCH_TOKEN } from '../lib/serverProcess.js';
import { guideSpec, guideYaml, YAML_HEADERS } from '../lib/specs.js';
import { latencySummary } from '../lib/stats.js';
import type { Suite } from '../lib/suite.js';

const REQUESTS = 1_000;
const WARMUP = 300;
/** Each run's calls go in this many rounds of REQUESTS / ROUNDS of each kind. */
const ROUNDS = 10;

/** POST /api/specs (YAML) through the SDK's own transport (client/src/transport.ts). */
async function transportRestEnqueue(url: string, body: string, send: FetchLike): Promise<void> {
  const response = await send(`${url}/api/specs`, {
    method: 'POST',
    headers: { ...AUTH_HEADER, ...YAML_HEADERS },
    body,
  });
  if (response.status !== 202) throw new Error(`POST /api/specs: ${response.status}`);
}

/** Runs the call and adds its duration (ms) to `into`. */
async function timed(into: number[], call: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await call();
  into.push(performance.now() - started);
}

export const enqueueLatency: Suite = {
  name: 'enqueue-latency',
  title: 'Enqueue latency, one client, sequential',
  async run({ databases, servers, metrics, runs, log }) {
    for (const via of ['rest', 'sdk'] as const) {
      const name = via === 'rest' ? 'REST POST /api/specs (YAML)' : 'SDK enqueueSpec';
      metrics.define({
        key: `${via}-p50`,
        label: `${name} p50`,
        unit: 'ms',
        target: { op: '<=', value: 1.5 },
      });
      metrics.define({ key: `${via}-p95`, label: `${name} p95`, unit: 'ms' });
      metrics.define({
        key: `${via}-p99`,
        label: `${name} p99`,
        unit: 'ms',
        target: { op: '<=', value: 5 },
      });
    }
    // The REST route through the SDK's transport: SDK minus this is the tRPC route's own cost.
    metrics.define({
      key: 'rest-undici-p50',
      label: "REST POST /api/specs (YAML) through the SDK's transport p50",
      unit: 'ms',
    });
    metrics.note(
      `${REQUESTS} sequential enqueues per run and client, in ${ROUNDS} interleaved rounds, after ${WARMUP} warm-up ones; API-only node (QUEUE_CONCURRENCY=0).`,
    );

    const db = await databases.create('enqueue_latency');
    const server = await servers.start(db, { concurrency: 0, label: 'enqueue-latency' });
    const rest = {
      url: `${server.url}/api/specs`,
      method: 'POST' as const,
      headers: { ...AUTH_HEADER, ...YAML_HEADERS },
      body: guideYaml(),
      connections: 1,
    };
    const client = createQueueClient({ url: server.url, token: BENCH_TOKEN, retries: 0 });
    const spec = guideSpec();

    const transport = createTransport(30_000);
    for (let i = 0; i < WARMUP; i++) await transportRestEnqueue(server.url, rest.body, transport);
    expectAllOk(await runLoad({ ...rest, amount: WARMUP }), 'REST warm-up');
    for (let i = 0; i < WARMUP; i++) await client.enqueueSpec({ spec });

    for (let run = 1; run <= runs; run++) {
      // In rounds: a block of REST calls from autocannon, then the SDK and REST through the SDK's
      // transport one call each in turn. (A bare tRPC call by global fetch used to take turns too;
      // its garbage of WHATWG requests, responses and streams was collected during the SDK's
      // calls and added ~0.2 ms to their p50, a cost of that arm, not of the SDK.) A machine that
      // speeds up or slows down during the run moves all three alike, so their differences stay
      // the route's and the client's.
      const restMs: number[] = [];
      const sdkMs: number[] = [];
      const transportMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // One call more than the others: the first opens autocannon's connection, and is left
        // out (one connect in 1,000 calls, as when the run was a single block, would be in p99).
        const load = await runLoad({ ...rest, amount: REQUESTS / ROUNDS + 1 });
        expectAllOk(load, 'REST enqueues');
        restMs.push(...load.latenciesMs.slice(1));
        for (let i = 0; i < REQUESTS / ROUNDS; i++) {
          await timed(sdkMs, () => client.enqueueSpec({ spec }));
          await timed(transportMs, () => transportRestEnqueue(server.url, rest.body, transport));
        }
      }
      const r = latencySummary(restMs);
      metrics.record('rest-p50', r.p50);
      metrics.record('rest-p95', r.p95);
      metrics.record('rest-p99', r.p99);
      const s = latencySummary(sdkMs);
      metrics.record('sdk-p50', s.p50);
      metrics.record('sdk-p95', s.p95);
      metrics.record('sdk-p99', s.p99);
      const u = latencySummary(transportMs);
      metrics.record('rest-undici-p50', u.p50);
      log(
        `run ${run}: REST p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} ms; SDK p50 ${s.p50.toFixed(2)} p99 ${s.p99.toFixed(2)} ms; REST through the SDK's transport p50 ${u.p50.toFixed(2)} ms`,
      );
    }
    await server.stop();
  },
};
