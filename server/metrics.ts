// Prometheus metrics of one node (prom-client, a registry per node). Counters and histograms
// count what this node did (sum them across nodes); the queue gauges are cluster-wide, read from
// the database at scrape time. Labels are bounded: statuses, step types, routes; never task ids.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats, TaskSource } from '../shared/api.js';
import type { TaskStatus } from '../shared/taskStatus.js';

const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class QueueMetrics {
  readonly registry = new Registry();
  private readonly enqueued: Counter<'source'>;
  private readonly completed: Counter;
  private readonly failed: Counter;
  private readonly cancelled: Counter;
  private readonly retried: Counter<'reason'>;
  private readonly recovered: Counter;
  private readonly handedBack: Counter;
  private readonly wait: Histogram;
  private readonly execution: Histogram<'status'>;
  private readonly step: Histogram<'type' | 'status'>;
  private readonly http: Histogram<'method' | 'route' | 'status_code'>;

  /** `readStats` gives the cluster-wide gauges; it is called on each scrape. */
  constructor(readStats: () => Promise<QueueStats>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.enqueued = new Counter({
      name: 'queue_tasks_enqueued_total',
      help: 'Tasks enqueued through this node.',
      labelNames: ['source'],
      registers,
    });
    this.completed = new Counter({
      name: 'queue_tasks_completed_total',
      help: 'Tasks this node ran to completion.',
      registers,
    });
    this.failed = new Counter({
      name: 'queue_tasks_failed_total',
      help: 'Tasks that failed for good on this node (no retries left).',
      registers,
    });
    this.cancelled = new Counter({
      name: 'queue_tasks_cancelled_total',
      help: 'Tasks cancelled while pending (through this node) or while running on this node.',
      registers,
    });
    this.retried = new Counter({
      name: 'queue_tasks_retried_total',
      help: 'Tasks queued again: after a failed attempt with retries left (automatic) or by retryTask (manual).',
      labelNames: ['reason'],
      registers,
    });
    this.recovered = new Counter({
      name: 'queue_tasks_recovered_total',
      help: 'Tasks this node took back from nodes that stopped renewing their leases.',
      registers,
    });
    this.handedBack = new Counter({
      name: 'queue_tasks_handed_back_total',
      help: 'Running tasks this node handed back to the queue while draining.',
      registers,
    });
    this.wait = new Histogram({
      name: 'queue_task_wait_seconds',
      help: 'Time from enqueue to the start of an attempt, for attempts this node started.',
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.execution = new Histogram({
      name: 'queue_task_execution_seconds',
      help: 'Time an attempt ran on this node, by how it ended.',
      labelNames: ['status'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.step = new Histogram({
      name: 'queue_step_duration_seconds',
      help: 'Duration of workflow steps run on this node.',
      labelNames: ['type', 'status'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.http = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests served by this node, by route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    const gauge = (name: string, help: string, pick: (stats: QueueStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(pick(await readStats()));
        },
      });
    gauge(
      'queue_size',
      'Pending tasks in the whole cluster that may run now.',
      (s) => s.queue_size,
    );
    gauge('queue_active_tasks', 'Running tasks in the whole cluster.', (s) => s.active_tasks);
    gauge('queue_workers', 'Workers of the live nodes of the cluster.', (s) => s.workers);
  }

  taskEnqueued(source: TaskSource, count = 1): void {
    this.enqueued.inc({ source }, count);
  }

  taskStarted(waitMs: number): void {
    this.wait.observe(Math.max(0, waitMs) / 1000);
  }

  /** An attempt's result was stored: `status` is the task's new status. */
  attemptFinished(status: TaskStatus, handedBack: boolean, executionMs: number): void {
    if (handedBack) {
      this.handedBack.inc();
      return;
    }
    this.execution.observe({ status }, Math.max(0, executionMs) / 1000);
    if (status === 'completed') this.completed.inc();
    else if (status === 'failed') this.failed.inc();
    else if (status === 'cancelled') this.cancelled.inc();
    else if (status === 'pending') this.retried.inc({ reason: 'automatic' });
  }

  taskCancelledWhilePending(): void {
    this.cancelled.inc();
  }

  taskRetriedByHand(): void {
    this.retried.inc({ reason: 'manual' });
  }

  taskRecovered(): void {
    this.recovered.inc();
  }

  stepFinished(type: string, status: string, durationMs: number): void {
    this.step.observe({ type, status }, durationMs / 1000);
  }

  httpRequest(method: string, route: string, statusCode: number, durationMs: number): void {
    this.http.observe({ method, route, status_code: String(statusCode) }, durationMs / 1000);
  }
}
