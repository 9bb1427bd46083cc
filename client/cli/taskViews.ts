// What a followed task looks like: a progress display (enqueue --wait), the plain log
// (logs --follow), JSON lines (--json), and the closing line with the task's outcome.
import type { TaskEvent } from '../../shared/events.js';
import type { TaskDetail } from '../../shared/tasks.js';
import type { TaskStatus } from '../../shared/taskStatus.js';
import { formatDuration, millisBetween } from './format.js';
import type { Output } from './format.js';

export type TaskView = (event: TaskEvent) => void;

/** Writes text line by line, each line prefixed, remembering whether a line is open. */
function prefixedWriter(out: Output, prefix: string) {
  let atLineStart = true;
  return {
    write(text: string) {
      if (text === '') return;
      const lines = text.split('\n');
      const last = lines.pop()!;
      for (const line of lines) {
        out.write(`${atLineStart ? prefix : ''}${line}\n`);
        atLineStart = true;
      }
      if (last !== '') {
        out.write(`${atLineStart ? prefix : ''}${last}`);
        atLineStart = false;
      }
    },
    endLine() {
      if (!atLineStart) out.write('\n');
      atLineStart = true;
    },
  };
}

/** Steps as they start and end, with their output beneath them. */
export function progressView(out: Output, taskId: string): TaskView {
  const c = out.color;
  const output = prefixedWriter(out, c.dim('│ '));
  let last: { status: TaskStatus; attempt: number } | undefined;
  return (event) => {
    switch (event.type) {
      case 'task.status': {
        if (last?.status === event.status && last.attempt === event.attempt) return;
        last = { status: event.status, attempt: event.attempt };
        output.endLine();
        if (event.status === 'pending') {
          out.line(
            event.error_message
              ? c.yellow(
                  `↻ attempt ${event.attempt} failed: ${event.error_message}; it will be tried again`,
                )
              : c.dim(`… ${taskId} is queued, waiting for a worker`),
          );
        } else if (event.status === 'running') {
          out.line(
            c.cyan(`▶ ${taskId} running${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`),
          );
        }
        // The end of the task is the command's closing line.
        return;
      }
      case 'step.started':
        output.endLine();
        out.line(`${c.dim('┌')} ${c.bold(event.name)}`);
        return;
      case 'step.output':
        if (event.skipped > 0) {
          output.endLine();
          out.line(c.dim(`│ … ${event.skipped} bytes of output not shown (they are in the log)`));
        }
        output.write(event.text);
        return;
      case 'step.finished': {
        output.endLine();
        const took = formatDuration(event.duration_ms);
        const line =
          event.status === 'completed'
            ? c.green(`✔ ${event.name} completed in ${took}`)
            : event.status === 'failed'
              ? c.red(
                  `✖ ${event.name} failed after ${took}${event.exit_code !== null ? ` (exit ${event.exit_code})` : ''}${event.error ? `: ${event.error}` : ''}`,
                )
              : c.yellow(`■ ${event.name} ${event.status} after ${took}`);
        out.line(`${c.dim('└')} ${line}`);
        return;
      }
    }
  };
}

/** The log as `logs` prints it: `==> step <name>` and the step's output, as it comes. */
export function logView(out: Output): TaskView {
  const output = prefixedWriter(out, '');
  let attempt: number | undefined;
  return (event) => {
    switch (event.type) {
      case 'task.status':
        return;
      case 'step.started':
        output.endLine();
        if (attempt !== undefined && event.attempt !== attempt) {
          out.line(`==> attempt ${event.attempt}`);
        }
        attempt = event.attempt;
        out.line(`==> step ${event.name}`);
        return;
      case 'step.output':
        output.write(event.text);
        return;
      case 'step.finished':
        output.endLine();
        return;
    }
  };
}

/** One JSON object per line: the events themselves. */
export function jsonLinesView(out: Output): TaskView {
  return (event) => out.line(JSON.stringify(event));
}

/** `✔ task-… completed in 2.1 s` / `✖ task-… failed: <why>` / `■ task-… cancelled: <why>`. */
export function outcomeLine(task: TaskDetail, out: Output): string {
  const c = out.color;
  const took = formatDuration(millisBetween(task.started_at, task.completed_at));
  switch (task.status) {
    case 'completed':
      return c.green(`✔ ${task.id} completed in ${took} (${task.app_name})`);
    case 'failed':
      return c.red(`✖ ${task.id} failed: ${task.error_message ?? 'no reason given'}`);
    case 'cancelled':
      return c.yellow(
        `■ ${task.id} cancelled${task.error_message ? `: ${task.error_message}` : ''}`,
      );
    case 'pending':
    case 'running':
      return `${task.id} is ${task.status}`;
  }
}
