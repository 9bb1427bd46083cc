// Small REST helpers over a running server: read the stats, wait for them, enqueue in bulk.
import type { QueueStats } from '../../shared/api.js';
import { expectAllOk, runLoad } from './load.js';
import { AUTH_HEADER } from './serverProcess.js';
import { JSON_HEADERS } from './specs.js';

export async function getStats(url: string): Promise<QueueStats> {
  const response = await fetch(`${url}/api/queue/stats`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET /api/queue/stats: ${response.status}`);
  return (await response.json()) as QueueStats;
}

/** Polls the stats every `intervalMs` until `done` says so; resolves with the last stats. */
export async function waitForStats(
  url: string,
  done: (stats: QueueStats) => boolean,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<QueueStats> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const stats = await getStats(url);
    if (done(stats)) return stats;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${options.what}: ${JSON.stringify(stats)}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}

/** POSTs the same JSON spec `count` times over a few connections; every answer must be 2xx. */
export async function enqueueMany(
  url: string,
  specJson: string,
  count: number,
  connections = 16,
): Promise<void> {
  const result = await runLoad({
    url: `${url}/api/specs`,
    method: 'POST',
    headers: { ...AUTH_HEADER, ...JSON_HEADERS },
    body: specJson,
    connections: Math.min(connections, count),
    amount: count,
  });
  expectAllOk(result, `enqueueing ${count} tasks`);
  if (result.ok !== count) throw new Error(`enqueued ${result.ok} of ${count} tasks`);
}

/** One enqueue over fetch (keep-alive); throws unless it is accepted. */
export async function postSpec(url: string, specJson: string): Promise<void> {
  const response = await fetch(`${url}/api/specs`, {
    method: 'POST',
    headers: { ...AUTH_HEADER, ...JSON_HEADERS },
    body: specJson,
  });
  await response.arrayBuffer();
  if (response.status !== 202) throw new Error(`POST /api/specs: ${response.status}`);
}
