// Glossary of the queue's terms, and the shapes the queue verbs pass around.
//
// task         One enqueued run of a workflow for an application; a row of queue_tasks.
// step         One command of a workflow (type `bash` today), run in order; a failing step ends
//              the attempt.
// attempt      One claim of a task by a node. A failing workflow gets 1 + `workflow.retries`.
// node         One server process. It registers in queue_nodes and runs up to
//              QUEUE_CONCURRENCY tasks at once (its workers); 0 makes it API-only.
// lease        A claimed task belongs to its node (`locked_by`) until `lease_expires_at`; the
//              node renews it on every heartbeat. An expired lease means the node is gone, and
//              any node gives the task back to the queue (recovery).
// fencing      Every write that renews, finishes or hands back a task names the node and attempt
//              that claimed it, so a node that lost its lease cannot overwrite what another node
//              now does; and a node stops its own runs before their leases can end (leaseKeeper.ts).
// run          One attempt of one task on one node, keyed (task, attempt) everywhere.
// ahead        A run claimed beyond the node's free slots (QUEUE_PREFETCH) while tasks are quick:
//              `running` in the table, it waits up to 250 ms for a slot or goes back unstarted.
// lifecycle    What follows every change of state: metrics, one task.status event, the wake-up of
//              the nodes that may claim (taskLifecycle.ts).
// golden path  A named, shipped workflow (goldenpaths/<name>.yaml) run for specs that carry no
//              workflow of their own; it also names the task's workflow (`golden-path-<name>`).
import type { WorkflowStep } from '../../shared/spec.js';
import type { TaskMetadata } from '../../shared/api.js';
import type { CarriedStepRow } from '../workflow/stepRecords.js';

export interface NewTask {
  appName: string;
  goldenPath: string;
  workflowName: string;
  spec: unknown;
  steps: WorkflowStep[];
  metadata: TaskMetadata;
  createdBy: string;
  priority: number;
  maxAttempts: number;
  idempotencyKey?: string | undefined;
  /** Not claimed before this time (run later). @default now */
  runAt?: Date | undefined;
}

/** What a node knows of a task it has claimed. */
export interface ClaimedTask {
  id: number;
  taskId: string;
  appName: string;
  workflowName: string;
  steps: WorkflowStep[];
  attempt: number;
  enqueuedAt: Date;
  startedAt: Date;
  /** Set when a retry `from=failed` asked this attempt to start at that step. */
  resumeFrom?: number | null | undefined;
}

/** How one attempt ended, as the worker reports it. */
export type TaskOutcome =
  | ({ kind: 'completed' } & StepRowCarried)
  | ({ kind: 'failed'; error: string } & StepRowCarried)
  | ({ kind: 'cancelled'; error: string } & StepRowCarried)
  /** Interrupted by this node's shutdown: goes back to the queue, not counted as an attempt. */
  | { kind: 'released' };

interface StepRowCarried {
  /**
   * The row of the step that ended the workflow, when it was not written yet: the statement that
   * stores the result writes it too, so a task is never seen finished with its step still running.
   */
  stepRow?: CarriedStepRow | undefined;
}
