-- Running totals for the stats endpoint, kept in the same transaction as every change to
-- queue_tasks, so they are exact and cost O(1) to read whatever the table's size.
-- Each total is a sum over the table of a per-row value; a statement changes it by
-- sum(value over NEW rows) - sum(value over OLD rows). Deleting finished tasks (retention) leaves
-- the history totals alone: only the live states (pending, running) leave with the rows.
-- Writers spread over 32 shard rows (by backend pid) so they do not queue on a single row.
INSERT INTO "queue_counters" ("shard") SELECT generate_series(0, 31);
--> statement-breakpoint
CREATE FUNCTION queue_tasks_count_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  d record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT count(*) AS enqueued,
           count(*) FILTER (WHERE r.status = 'pending') AS pending,
           count(*) FILTER (WHERE r.status = 'running') AS running,
           count(*) FILTER (WHERE r.status = 'completed') AS completed,
           count(*) FILTER (WHERE r.status = 'failed') AS failed,
           count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled,
           coalesce(sum(extract(epoch FROM r.started_at - r.enqueued_at)::float8 * 1000), 0) AS queue_ms,
           count(r.started_at) AS queue_n,
           coalesce(sum(extract(epoch FROM r.completed_at - r.started_at)::float8 * 1000), 0) AS exec_ms,
           count(r.completed_at - r.started_at) AS exec_n
      INTO d
      FROM new_rows r;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT 0 AS enqueued,
           coalesce(sum(r.sign) FILTER (WHERE r.status = 'pending'), 0) AS pending,
           coalesce(sum(r.sign) FILTER (WHERE r.status = 'running'), 0) AS running,
           coalesce(sum(r.sign) FILTER (WHERE r.status = 'completed'), 0) AS completed,
           coalesce(sum(r.sign) FILTER (WHERE r.status = 'failed'), 0) AS failed,
           coalesce(sum(r.sign) FILTER (WHERE r.status = 'cancelled'), 0) AS cancelled,
           coalesce(sum(r.sign * extract(epoch FROM r.started_at - r.enqueued_at)::float8 * 1000), 0) AS queue_ms,
           coalesce(sum(r.sign) FILTER (WHERE r.started_at IS NOT NULL), 0) AS queue_n,
           coalesce(sum(r.sign * extract(epoch FROM r.completed_at - r.started_at)::float8 * 1000), 0) AS exec_ms,
           coalesce(sum(r.sign) FILTER (WHERE r.completed_at IS NOT NULL AND r.started_at IS NOT NULL), 0) AS exec_n
      INTO d
      FROM (SELECT 1 AS sign, n.status, n.enqueued_at, n.started_at, n.completed_at FROM new_rows n
            UNION ALL
            SELECT -1, o.status, o.enqueued_at, o.started_at, o.completed_at FROM old_rows o) r;
  ELSE
    SELECT 0 AS enqueued,
           -count(*) FILTER (WHERE r.status = 'pending') AS pending,
           -count(*) FILTER (WHERE r.status = 'running') AS running,
           0 AS completed, 0 AS failed, 0 AS cancelled,
           0 AS queue_ms, 0 AS queue_n, 0 AS exec_ms, 0 AS exec_n
      INTO d
      FROM old_rows r;
  END IF;

  IF d.enqueued <> 0 OR d.pending <> 0 OR d.running <> 0 OR d.completed <> 0 OR d.failed <> 0
     OR d.cancelled <> 0 OR d.queue_n <> 0 OR d.exec_n <> 0 OR d.queue_ms <> 0 OR d.exec_ms <> 0 THEN
    UPDATE queue_counters c
       SET enqueued = c.enqueued + d.enqueued,
           pending = c.pending + d.pending,
           running = c.running + d.running,
           completed = c.completed + d.completed,
           failed = c.failed + d.failed,
           cancelled = c.cancelled + d.cancelled,
           queue_time_ms_sum = c.queue_time_ms_sum + d.queue_ms,
           queue_time_count = c.queue_time_count + d.queue_n,
           exec_time_ms_sum = c.exec_time_ms_sum + d.exec_ms,
           exec_time_count = c.exec_time_count + d.exec_n
     WHERE c.shard = pg_backend_pid() % 32;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER queue_tasks_count_inserts AFTER INSERT ON queue_tasks
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION queue_tasks_count_changes();
--> statement-breakpoint
CREATE TRIGGER queue_tasks_count_updates AFTER UPDATE ON queue_tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION queue_tasks_count_changes();
--> statement-breakpoint
CREATE TRIGGER queue_tasks_count_deletes AFTER DELETE ON queue_tasks
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION queue_tasks_count_changes();
