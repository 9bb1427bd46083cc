CREATE TABLE "queue_webhook_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"delivery_id" bigint NOT NULL,
	"webhook_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"attempted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"status_code" integer,
	"error" text,
	"duration_ms" integer NOT NULL,
	"node_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queue_webhook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"webhook_id" bigint NOT NULL,
	"message_id" text NOT NULL,
	"event_type" text NOT NULL,
	"task_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "queue_webhook_deliveries_message_id_unique" UNIQUE("message_id"),
	CONSTRAINT "queue_webhook_deliveries_status_check" CHECK ("queue_webhook_deliveries"."status" in ('pending', 'delivered', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "queue_webhooks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"events" text[] NOT NULL,
	"app_name" text,
	"secret" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "queue_webhooks_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "queue_webhook_attempts" ADD CONSTRAINT "queue_webhook_attempts_delivery_id_queue_webhook_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."queue_webhook_deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "queue_webhook_deliveries" ADD CONSTRAINT "queue_webhook_deliveries_webhook_id_queue_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."queue_webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "queue_webhook_attempts_webhook_idx" ON "queue_webhook_attempts" USING btree ("webhook_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "queue_webhook_deliveries_due_idx" ON "queue_webhook_deliveries" USING btree ("next_attempt_at") WHERE "queue_webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "queue_webhook_deliveries_webhook_idx" ON "queue_webhook_deliveries" USING btree ("webhook_id","status");--> statement-breakpoint
CREATE INDEX "queue_webhook_deliveries_finished_idx" ON "queue_webhook_deliveries" USING btree ("finished_at") WHERE "queue_webhook_deliveries"."finished_at" is not null;