// A node's row in queue_nodes: registered at start, renewed on every heartbeat together with the
// leases of the tasks it runs, removed when it stops. The heartbeat also tells the node which of
// its tasks someone asked to cancel, and which it no longer holds.
import os from 'node:os';
import type { Queryable } from '../db/database.js';

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
  /** Tasks whose lease this node still holds (and just renewed). */
  held: Set<number>;
  /** Of those, the ones somebody asked to cancel. */
  cancelRequested: Set<number>;
}

// The node row is upserted: if others took it for dead and removed it, it comes back.
const HEARTBEAT = `
WITH node AS (
  INSERT INTO queue_nodes (id, host, pid, concurrency) VALUES ($1, $4, $5, $6)
  ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
)
UPDATE queue_tasks
SET lease_expires_at = now() + $3 * interval '1 millisecond'
WHERE id = ANY($2::bigint[]) AND status = 'running' AND locked_by = $1
RETURNING id, cancel_requested_at IS NOT NULL AS cancel_requested`;

export async function heartbeat(
  db: Queryable,
  node: { id: string; concurrency: number },
  running: readonly number[],
  leaseMs: number,
): Promise<HeartbeatResult> {
  const rows = await db.query<{ id: number; cancel_requested: boolean }>(HEARTBEAT, [
    node.id,
    running,
    leaseMs,
    os.hostname(),
    process.pid,
    node.concurrency,
  ]);
  return {
    held: new Set(rows.map((r) => r.id)),
    cancelRequested: new Set(rows.filter((r) => r.cancel_requested).map((r) => r.id)),
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
