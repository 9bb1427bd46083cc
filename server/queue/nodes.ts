// A node's row in queue_nodes: registered at start, renewed on every heartbeat together with the
// leases of the tasks it runs, removed when it stops. The heartbeat also tells the node which of
// its tasks someone asked to cancel, and which it no longer holds.
import os from 'node:os';
import type { Queryable } from '../db/database.js';
import { runKey } from './finishTasks.js';

export async function registerNode(
  db: Queryable,
  node: { id: string; concurrency: number },
): Promise<void> {
  await db.query(
    `INSERT INTO queue_nodes (id, host, pid, concurrency) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), concurrency = excluded.concurrency`,
    [node.id, os.hostname(), process.pid, node.concurrency],
  );
}

export async function markNodeDraining(db: Queryable, nodeId: string): Promise<void> {
  await db.query('UPDATE queue_nodes SET draining = true WHERE id = $1', [nodeId]);
}

export async function removeNode(db: Queryable, nodeId: string): Promise<void> {
  await db.query('DELETE FROM queue_nodes WHERE id = $1', [nodeId]);
}

export interface HeartbeatResult {
  /** Runs (`runKey`) whose lease this node still held, and just renewed. */
  held: Set<string>;
  /** Of those, the ones somebody asked to cancel. */
  cancelRequested: Set<string>;
}

// The node row is upserted: if others took it for dead and removed it, it comes back. A lease
// that already expired is not renewed: from then on any node may recover the task, so the run
// that held it must stop, whether or not someone already took it.
const HEARTBEAT = `
WITH node AS (
  INSERT INTO queue_nodes (id, host, pid, concurrency) VALUES ($1, $5, $6, $7)
  ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
)
UPDATE queue_tasks t
SET lease_expires_at = now() + $4 * interval '1 millisecond'
FROM unnest($2::bigint[], $3::int[]) AS v(id, attempt)
WHERE t.id = v.id AND t.attempts = v.attempt AND t.status = 'running' AND t.locked_by = $1
  AND t.lease_expires_at > now()
RETURNING t.id, t.attempts, t.cancel_requested_at IS NOT NULL AS cancel_requested`;

export async function heartbeat(
  db: Queryable,
  node: { id: string; concurrency: number },
  runs: readonly { id: number; attempt: number }[],
  options: { leaseMs: number; timeoutMs: number },
): Promise<HeartbeatResult> {
  const rows = await db.query<{ id: number; attempts: number; cancel_requested: boolean }>(
    HEARTBEAT,
    [
      node.id,
      runs.map((r) => r.id),
      runs.map((r) => r.attempt),
      options.leaseMs,
      os.hostname(),
      process.pid,
      node.concurrency,
    ],
    { timeoutMs: options.timeoutMs, name: 'heartbeat' },
  );
  return {
    held: new Set(rows.map((r) => runKey(r.id, r.attempts))),
    cancelRequested: new Set(
      rows.filter((r) => r.cancel_requested).map((r) => runKey(r.id, r.attempts)),
    ),
  };
}

/** Forgets nodes that stopped heartbeating long ago (their tasks are recovered by lease). */
export async function pruneDeadNodes(db: Queryable, staleMs: number): Promise<number> {
  const rows = await db.query(
    `DELETE FROM queue_nodes WHERE heartbeat_at < now() - $1 * interval '1 millisecond' RETURNING id`,
    [staleMs],
  );
  return rows.length;
}
