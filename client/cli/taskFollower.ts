// Follows one task from wherever it is: what it already did (read from the server), then what it
// does (the onTask subscription), as one stream of task events without gaps or repeats, until
// the task ends for good.
//
// Output produced before the subscription started exists only in the stored record, which for a
// running step lags behind (saved about once a second). Finished steps are therefore shown from
// the record, and the step running when we attach is joined from both by StepCatchUp.
import type { QueueClient, Subscription } from '@innominatus-queue/client';
import type { TaskEvent } from '../../shared/events.js';
import type { TaskDetail, TaskStep } from '../../shared/tasks.js';
import { isFinished, type FinishedStatus, type TaskStatus } from '../../shared/taskStatus.js';
import { CliError } from './exitCodes.js';
import { EXIT } from './exitCodes.js';
import { StepCatchUp } from './stepCatchUp.js';

export type FinishedTask = TaskDetail & { status: FinishedStatus };

export interface TaskFollow {
  /** The task once it has ended for good (retries included). */
  readonly finished: Promise<FinishedTask>;
  /** Stops following; `finished` then never settles. */
  stop(): void;
}

/** The server saves a running step's output this often; held live text waits for a save. */
const STORED_OUTPUT_RETRY_MS = 1_000;

const stepKey = (attempt: number, position: number) => `${attempt}:${position}`;

export function followTask(
  client: QueueClient,
  taskId: string,
  onEvent: (event: TaskEvent) => void,
): TaskFollow {
  let stopped = false;
  let attached = false;
  /** Steps shown whole from the record: their live events are repeats. */
  const shownWhole = new Set<string>();
  const catchingUp = new Map<string, { step: StepCatchUp; timer?: NodeJS.Timeout }>();
  // Work runs one piece at a time, in arrival order, even when a piece waits for the server.
  let chain: Promise<void> = Promise.resolve();
  let fail: (error: unknown) => void = () => {};
  let subscription: Subscription | undefined;

  const enqueue = (work: () => Promise<void> | void) => {
    chain = chain.then(work).catch((error: unknown) => {
      if (!stopped) fail(error);
    });
  };
  const emit = (event: TaskEvent) => {
    if (!stopped) onEvent(event);
  };
  const emitOutput = (attempt: number, position: number, text: string, skipped = 0) => {
    if (text !== '' || skipped > 0) {
      emit({ type: 'step.output', task_id: taskId, attempt, position, text, skipped });
    }
  };
  const storedStep = async (attempt: number, position: number) =>
    (await client.task(taskId)).steps.find((s) => s.attempt === attempt && s.position === position);

  async function attach(first: TaskEvent): Promise<void> {
    emit(first);
    const detail = await client.task(taskId);
    for (const step of detail.steps) {
      if (step.status === 'pending' || step.attempt === null) continue;
      const attempt = step.attempt;
      emit(startedFrom(taskId, attempt, step));
      emitOutput(attempt, step.position, step.output, truncatedBytes(step));
      if (step.status === 'running') {
        catchingUp.set(stepKey(attempt, step.position), { step: new StepCatchUp(step.output) });
      } else {
        emit(finishedFrom(taskId, attempt, step));
        shownWhole.add(stepKey(attempt, step.position));
      }
    }
    attached = true;
  }

  async function handle(event: TaskEvent): Promise<void> {
    if (!attached) return attach(event);
    if (event.type === 'task.status') return emit(event);
    const key = stepKey(event.attempt, event.position);
    if (shownWhole.has(key)) return;
    const entry = catchingUp.get(key);
    if (!entry) return emit(event);
    switch (event.type) {
      case 'step.started':
        entry.step.sawStart();
        return;
      case 'step.output':
        emitOutput(event.attempt, event.position, entry.step.live(event.text), event.skipped);
        if (entry.step.isHolding) askForStoredOutput(key, event.attempt, event.position);
        return;
      case 'step.finished': {
        clearTimeout(entry.timer);
        catchingUp.delete(key);
        // The record is written before the step's end is announced: it is complete now.
        const stored = await storedStep(event.attempt, event.position);
        if (stored) emitOutput(event.attempt, event.position, entry.step.stored(stored.output));
        return emit(event);
      }
    }
  }

  /** Held live text: fetch the stored output again after the server's next save. */
  function askForStoredOutput(key: string, attempt: number, position: number): void {
    const entry = catchingUp.get(key);
    if (!entry || entry.timer) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      enqueue(async () => {
        if (stopped || catchingUp.get(key) !== entry) return;
        const stored = await storedStep(attempt, position);
        if (stored) emitOutput(attempt, position, entry.step.stored(stored.output));
        if (entry.step.isHolding) askForStoredOutput(key, attempt, position);
      });
    }, STORED_OUTPUT_RETRY_MS);
  }

  function stop(): void {
    stopped = true;
    for (const entry of catchingUp.values()) clearTimeout(entry.timer);
    subscription?.unsubscribe();
  }

  const finished = new Promise<FinishedTask>((resolve, reject) => {
    fail = (error) => {
      stop();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    subscription = client.onTask(taskId, {
      onData: (event) => enqueue(() => handle(event)),
      onError: (error) => enqueue(() => fail(error)),
      onComplete: () =>
        enqueue(async () => {
          if (stopped) return;
          // The stream ends when the task does, or when the server shuts down: ask which.
          const detail = await client.task(taskId);
          if (!isFinishedTask(detail)) {
            throw new CliError(
              `The server closed the stream of task ${taskId} while it is ${detail.status} (is the server shutting down?). Follow it again: innominatus-queue logs --follow ${taskId}`,
              EXIT.unreachable,
            );
          }
          stop();
          resolve(detail);
        }),
    });
  });

  return { finished, stop };
}

function isFinishedTask(detail: TaskDetail): detail is FinishedTask {
  return isFinished(detail.status);
}

/** A truncated record keeps the last bytes of the output; the bytes before were skipped. */
function truncatedBytes(step: TaskStep): number {
  if (!step.output_truncated) return 0;
  return Math.max(0, step.output_bytes - new TextEncoder().encode(step.output).length);
}

function startedFrom(taskId: string, attempt: number, step: TaskStep): TaskEvent {
  return {
    type: 'step.started',
    task_id: taskId,
    attempt,
    position: step.position,
    name: step.name,
    at: step.started_at ?? new Date().toISOString(),
  };
}

function finishedFrom(taskId: string, attempt: number, step: TaskStep): TaskEvent {
  return {
    type: 'step.finished',
    task_id: taskId,
    attempt,
    position: step.position,
    name: step.name,
    status: step.status,
    exit_code: step.exit_code,
    duration_ms: step.duration_ms ?? 0,
    error: step.error,
    at: step.finished_at ?? new Date().toISOString(),
  };
}

// Several tasks followed at once, for the demo: when all have started, and how each ended.
export interface TaskTracker {
  /** Every task has left the queue: it runs, or has already ended. */
  allStarted: Promise<void>;
  /** How each task ended, in the order of the ids. */
  allFinished: Promise<TaskStatus[]>;
  stop(): void;
}

export function trackTasks(client: QueueClient, ids: readonly string[]): TaskTracker {
  const started = new Set<string>();
  let markAllStarted = () => {};
  const allStarted = new Promise<void>((resolve) => (markAllStarted = resolve));
  const follows = ids.map((id) =>
    followTask(client, id, (event) => {
      if (event.type !== 'task.status' || event.status === 'pending') return;
      started.add(id);
      if (started.size === ids.length) markAllStarted();
    }),
  );
  const allFinished = Promise.all(follows.map((f) => f.finished)).then((tasks) =>
    tasks.map((task): TaskStatus => task.status),
  );
  // A failure is reported through allFinished; allStarted must not leave it unhandled meanwhile.
  allFinished.catch(() => undefined);
  return {
    allStarted: Promise.race([allStarted, allFinished.then(() => undefined)]),
    allFinished,
    stop: () => follows.forEach((f) => f.stop()),
  };
}
