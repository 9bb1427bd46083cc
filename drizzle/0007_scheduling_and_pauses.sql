CREATE TABLE "queue_pauses" (
	"scope" text PRIMARY KEY NOT NULL,
	"paused_by" text NOT NULL,
	"paused_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queue_schedules" (
	"name" text PRIMARY KEY NOT NULL,
	"cron" text NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"spec" jsonb NOT NULL,
	"golden_path" text NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"next_run_at" timestamp with time zone NOT NULL,
	"last_run_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "queue_tasks" ADD COLUMN "resume_from" integer;--> statement-breakpoint
CREATE INDEX "queue_schedules_due_idx" ON "queue_schedules" USING btree ("next_run_at") WHERE NOT "queue_schedules"."paused";--> statement-breakpoint
CREATE INDEX "queue_tasks_run_at_idx" ON "queue_tasks" USING btree ("run_at") WHERE "queue_tasks"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "queue_tasks_schedule_idx" ON "queue_tasks" USING btree (("metadata"->>'schedule'),"id" DESC NULLS LAST) WHERE "queue_tasks"."metadata" ? 'schedule';