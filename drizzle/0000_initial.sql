CREATE TABLE "queue_counters" (
	"shard" smallint PRIMARY KEY NOT NULL,
	"enqueued" bigint DEFAULT 0 NOT NULL,
	"pending" bigint DEFAULT 0 NOT NULL,
	"running" bigint DEFAULT 0 NOT NULL,
	"completed" bigint DEFAULT 0 NOT NULL,
	"failed" bigint DEFAULT 0 NOT NULL,
	"cancelled" bigint DEFAULT 0 NOT NULL,
	"queue_time_ms_sum" double precision DEFAULT 0 NOT NULL,
	"queue_time_count" bigint DEFAULT 0 NOT NULL,
	"exec_time_ms_sum" double precision DEFAULT 0 NOT NULL,
	"exec_time_count" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queue_nodes" (
	"id" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"concurrency" integer NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"draining" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queue_task_steps" (
	"task_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"position" integer NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"exit_code" integer,
	"output" text DEFAULT '' NOT NULL,
	"output_bytes" bigint DEFAULT 0 NOT NULL,
	"error" text,
	CONSTRAINT "queue_task_steps_task_id_attempt_position_pk" PRIMARY KEY("task_id","attempt","position")
);
--> statement-breakpoint
CREATE TABLE "queue_tasks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_id" text NOT NULL,
	"app_name" text NOT NULL,
	"workflow_name" text NOT NULL,
	"golden_path" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"spec" jsonb NOT NULL,
	"steps" jsonb NOT NULL,
	"metadata" jsonb NOT NULL,
	"created_by" text NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 1 NOT NULL,
	"lost_count" integer DEFAULT 0 NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enqueued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"error_message" text,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"locked_by" text,
	"lease_expires_at" timestamp with time zone,
	"cancel_requested_at" timestamp with time zone,
	"idempotency_key" text,
	CONSTRAINT "queue_tasks_task_id_unique" UNIQUE("task_id"),
	CONSTRAINT "queue_tasks_status_check" CHECK ("queue_tasks"."status" in ('pending', 'running', 'completed', 'failed', 'cancelled')),
	CONSTRAINT "queue_tasks_attempts_check" CHECK ("queue_tasks"."attempts" >= 0 and "queue_tasks"."max_attempts" >= 1)
);
--> statement-breakpoint
ALTER TABLE "queue_task_steps" ADD CONSTRAINT "queue_task_steps_task_id_queue_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."queue_tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "queue_tasks_claim_idx" ON "queue_tasks" USING btree ("priority" DESC NULLS LAST,"id") WHERE "queue_tasks"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "queue_tasks_lease_idx" ON "queue_tasks" USING btree ("lease_expires_at") WHERE "queue_tasks"."status" = 'running';--> statement-breakpoint
CREATE INDEX "queue_tasks_locked_by_idx" ON "queue_tasks" USING btree ("locked_by") WHERE "queue_tasks"."status" = 'running';--> statement-breakpoint
CREATE INDEX "queue_tasks_enqueued_at_idx" ON "queue_tasks" USING btree ("enqueued_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "queue_tasks_status_id_idx" ON "queue_tasks" USING btree ("status","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "queue_tasks_app_id_idx" ON "queue_tasks" USING btree ("app_name","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "queue_tasks_finished_idx" ON "queue_tasks" USING btree ("completed_at") WHERE "queue_tasks"."completed_at" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "queue_tasks_idempotency_idx" ON "queue_tasks" USING btree ("created_by","idempotency_key") WHERE "queue_tasks"."idempotency_key" is not null;