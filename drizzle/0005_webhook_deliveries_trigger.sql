-- Webhook deliveries are stored by the database itself, in the transaction that changes a task's
-- status: whichever code path moves a task (claim, finish, cancel, retry, recovery), the event
-- cannot be lost between the change and its delivery row. A row trigger with a WHEN clause costs
-- nothing on updates that leave the status alone (heartbeats, lease renewals); with no webhooks
-- registered a status change costs one look at an empty table.
CREATE FUNCTION queue_tasks_webhook_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event text := CASE NEW.status
                  WHEN 'running' THEN 'task.started'
                  WHEN 'pending' THEN 'task.requeued'
                  ELSE 'task.' || NEW.status
                END;
BEGIN
  INSERT INTO queue_webhook_deliveries (webhook_id, message_id, event_type, task_id, payload)
  SELECT w.id,
         'msg_' || replace(gen_random_uuid()::text, '-', ''),
         event,
         NEW.task_id,
         jsonb_build_object(
           'type', event,
           'timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'data', jsonb_build_object(
             'task_id', NEW.task_id,
             'app_name', NEW.app_name,
             'workflow_name', NEW.workflow_name,
             'golden_path', NEW.golden_path,
             'status', NEW.status,
             'previous_status', OLD.status,
             'attempt', NEW.attempts,
             'error_message', NEW.error_message,
             'enqueued_at', NEW.enqueued_at,
             'started_at', NEW.started_at,
             'completed_at', NEW.completed_at))
    FROM queue_webhooks w
   WHERE event = ANY (w.events)
     AND (w.app_name IS NULL OR w.app_name = NEW.app_name);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER queue_tasks_webhook_deliveries AFTER UPDATE OF status ON queue_tasks
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION queue_tasks_webhook_deliveries();
