// One task: its record, its steps with their output streaming live (GET /api/queue/events
// ?task_id=), and cancel and retry for a signed-in user. Shown in a modal dialog at #/tasks/<id>.
import type { TaskEvent } from '../../shared/events.js';
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { TaskDetail, TaskStep } from '../../shared/tasks.js';
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { openLiveStream, type LiveStream, type StreamState } from './eventStream.js';
import { formatDuration, formatTime } from './format.js';
import type { Session } from './session.js';
import { statusBadge } from './taskWidgets.js';

const CANCELLABLE: readonly TaskStatus[] = ['pending', 'running'];
const RETRYABLE: readonly TaskStatus[] = ['failed', 'cancelled'];
/** Characters of a step's output kept on the page; the rest is in the task's logs. */
const OUTPUT_KEPT = 256 * 1024;
const RELOAD_DELAY_MS = 150;

export interface TaskViewOptions {
  dialog: HTMLDialogElement;
  session: Session;
  notify: (message: string, kind?: 'info' | 'error') => void;
  /** The dialog was closed (button, Escape). */
  onClose: () => void;
}

export interface TaskView {
  open(id: string): void;
  close(): void;
  /** The user signed in or out. */
  sessionChanged(): void;
}

interface StepElements {
  item: HTMLLIElement;
  badge: HTMLElement;
  meta: HTMLElement;
  error: HTMLElement;
  output: HTMLPreElement;
}

/** Output of a running step as it streams, for the attempt it belongs to. */
interface LiveOutput {
  attempt: number;
  text: string;
}

export function createTaskView(options: TaskViewOptions): TaskView {
  const { dialog, session, notify } = options;
  const title = h('h2', { attrs: { id: 'task-title' } });
  const live = h('span', { class: 'live-state' });
  const closeButton = h('button', { class: 'secondary', attrs: { type: 'button' } }, 'Close');
  const content = h('div', { class: 'task-content' });
  dialog.setAttribute('aria-labelledby', 'task-title');
  dialog.replaceChildren(h('header', { class: 'task-header' }, title, live, closeButton), content);
  closeButton.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    stop();
    options.onClose();
  });

  let taskId: string | undefined;
  let detail: TaskDetail | undefined;
  let stream: LiveStream | undefined;
  /** Events that arrived before the record they apply to; undefined once it is shown. */
  let early: TaskEvent[] | undefined;
  let loads = 0;
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  const outputs = new Map<number, LiveOutput>();
  const steps = new Map<number, StepElements>();
  let header: HTMLElement | undefined;
  let actions: { cancel: HTMLButtonElement; retry: HTMLButtonElement } | undefined;

  function stop(): void {
    stream?.close();
    stream = undefined;
    clearTimeout(reloadTimer);
    loads++; // answers to loads in flight are dropped
  }

  function open(id: string): void {
    stop();
    taskId = id;
    detail = undefined;
    early = [];
    outputs.clear();
    steps.clear();
    header = actions = undefined;
    title.textContent = id;
    live.textContent = '';
    if (!dialog.open) dialog.showModal();
    const token = session.token();
    if (token === null) {
      content.replaceChildren(
        h('p', { class: 'empty' }, 'Sign in to see this task’s steps and output.'),
      );
      return;
    }
    content.replaceChildren(h('p', { class: 'empty' }, 'Loading…'));
    let firstOfConnection = true;
    stream = openLiveStream({
      path: `/api/queue/events?task_id=${encodeURIComponent(id)}`,
      token,
      reconnectOnEnd: false,
      onState: (state) => {
        showState(state);
        if (state.kind === 'open') firstOfConnection = true;
        // The stream ends with the task: read the final record, outputs and all.
        if (state.kind === 'ended') void load();
      },
      onMessage: (message) => {
        if (message.event !== 'task') return;
        const event = JSON.parse(message.data) as TaskEvent;
        if (firstOfConnection) {
          // The server subscribes before it sends the first event, so a record read from here on
          // misses nothing; whatever it already holds is sorted out in show(). Output streamed
          // before a reconnection has a gap: the record's is the one to start from.
          firstOfConnection = false;
          early = [];
          outputs.clear();
          void load();
        }
        if (early) early.push(event);
        else apply(event);
      },
    });
  }

  function showState(state: StreamState): void {
    switch (state.kind) {
      case 'connecting':
        live.textContent = 'connecting…';
        break;
      case 'open':
        live.textContent = '● live';
        break;
      case 'waiting':
        live.textContent = `reconnecting in ${Math.round(state.retryInMs / 1000)} s…`;
        break;
      case 'ended':
        live.textContent = '';
        break;
      case 'refused':
        live.textContent = '';
        content.replaceChildren(h('p', { class: 'empty error' }, state.error.message));
        break;
    }
  }

  async function load(): Promise<void> {
    const token = session.token();
    const id = taskId;
    if (token === null || id === undefined) return;
    const mine = ++loads;
    try {
      const record = await api.task(token, id);
      if (mine === loads) show(record);
    } catch (error) {
      if (mine !== loads) return;
      if (detail === undefined) {
        content.replaceChildren(h('p', { class: 'empty error' }, (error as Error).message));
      } else {
        notify(`Could not reload the task: ${(error as Error).message}`, 'error');
      }
    }
  }

  function scheduleReload(): void {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void load(), RELOAD_DELAY_MS);
  }

  /** Renders a fresh record, then the events that came in while it was read. */
  function show(record: TaskDetail): void {
    detail = record;
    const seeded = new Map<number, string>();
    for (const step of record.steps) {
      const kept = outputs.get(step.position);
      if (step.status !== 'running') outputs.delete(step.position);
      else if (!kept || kept.attempt !== step.attempt) {
        // Streamed output is complete from the step's start on; otherwise start from the record.
        outputs.set(step.position, { attempt: step.attempt ?? 0, text: step.output });
        seeded.set(step.position, step.output);
      }
    }
    render(record);
    const pending = early ?? [];
    early = undefined;
    for (const event of pending) {
      // Output already in the record (it was read after the event was sent) is not shown twice.
      if (event.type === 'step.output' && seeded.get(event.position)?.endsWith(event.text)) {
        continue;
      }
      apply(event);
    }
  }

  function apply(event: TaskEvent): void {
    if (!detail) return;
    switch (event.type) {
      case 'task.status':
        detail.status = event.status;
        detail.error_message = event.error_message;
        renderHeader(detail);
        scheduleReload();
        break;
      case 'step.started': {
        const step = stepAt(event.position);
        if (!step) {
          scheduleReload();
          return;
        }
        const kept = outputs.get(event.position);
        if (!kept || kept.attempt !== event.attempt) {
          outputs.set(event.position, { attempt: event.attempt, text: '' });
        }
        Object.assign(step, {
          status: 'running',
          attempt: event.attempt,
          started_at: event.at,
          finished_at: null,
          duration_ms: null,
          exit_code: null,
          error: null,
        } satisfies Partial<TaskStep>);
        updateStep(step);
        break;
      }
      case 'step.output': {
        const kept = outputs.get(event.position);
        if (!kept || kept.attempt !== event.attempt) return;
        const skipped =
          event.skipped > 0 ? `\n[… ${event.skipped} bytes not streamed; see the logs …]\n` : '';
        appendOutput(event.position, kept, skipped + event.text);
        break;
      }
      case 'step.finished': {
        const step = stepAt(event.position);
        if (!step) {
          scheduleReload();
          return;
        }
        Object.assign(step, {
          status: event.status,
          finished_at: event.at,
          duration_ms: event.duration_ms,
          exit_code: event.exit_code,
          error: event.error,
        } satisfies Partial<TaskStep>);
        updateStep(step);
        // The record holds the step's final output (and its size); read it again.
        scheduleReload();
        break;
      }
    }
  }

  function stepAt(position: number): TaskStep | undefined {
    return detail?.steps.find((step) => step.position === position);
  }

  function render(record: TaskDetail): void {
    header = h('dl', { class: 'facts' });
    const cancel = h('button', { class: 'danger', attrs: { type: 'button' } }, 'Cancel');
    const retry = h('button', { attrs: { type: 'button' } }, 'Retry');
    cancel.addEventListener('click', () => void act('cancel', cancel));
    retry.addEventListener('click', () => void act('retry', retry));
    actions = { cancel, retry };
    steps.clear();
    const list = h('ol', { class: 'steps' }, ...record.steps.map(renderStep));
    const errors =
      record.errors.length === 0
        ? null
        : h(
            'section',
            { class: 'attempt-errors' },
            h('h3', {}, 'Attempts that ended in error'),
            h(
              'ul',
              {},
              ...record.errors.map((e) =>
                h(
                  'li',
                  {},
                  h('strong', {}, `Attempt ${e.attempt}`),
                  ` at ${formatTime(e.at)}${e.node ? ` on ${e.node}` : ''}: `,
                  h('span', { class: 'error' }, e.error),
                ),
              ),
            ),
          );
    content.replaceChildren(
      header,
      h('div', { class: 'actions' }, cancel, retry),
      ...(errors ? [errors] : []),
      h('h3', {}, 'Steps'),
      list,
    );
    renderHeader(record);
  }

  function renderHeader(record: TaskDetail): void {
    if (!header || !actions) return;
    const fact = (label: string, value: Node | string) =>
      h('div', {}, h('dt', {}, label), h('dd', {}, value));
    const took =
      record.started_at && record.completed_at
        ? formatDuration(Date.parse(record.completed_at) - Date.parse(record.started_at))
        : '—';
    header.replaceChildren(
      fact('Status', statusBadge(record.status)),
      fact('Application', record.app_name),
      fact('Workflow', record.workflow_name),
      fact('Golden path', record.golden_path),
      fact(
        'Attempts',
        record.attempts > record.max_attempts
          ? `${record.attempts} (retried by hand)`
          : `${record.attempts} of ${record.max_attempts}`,
      ),
      fact('Requested by', `${record.metadata.user} (${record.metadata.source})`),
      fact('Enqueued', formatTime(record.enqueued_at)),
      fact('Started', formatTime(record.started_at)),
      fact('Finished', formatTime(record.completed_at)),
      fact('Took', took),
      ...(record.error_message
        ? [fact('Error', h('span', { class: 'error' }, record.error_message))]
        : []),
    );
    dialog.dataset.status = record.status;
    const signedIn = session.token() !== null;
    const cancelling = record.cancel_requested_at !== null && record.status === 'running';
    actions.cancel.disabled = !signedIn || cancelling || !CANCELLABLE.includes(record.status);
    actions.cancel.textContent = cancelling ? 'Cancelling…' : 'Cancel';
    actions.retry.disabled = !signedIn || !RETRYABLE.includes(record.status);
  }

  function renderStep(step: TaskStep): HTMLLIElement {
    const elements: StepElements = {
      item: h('li', { class: 'step', data: { position: String(step.position) } }),
      badge: h('span'),
      meta: h('span', { class: 'step-meta' }),
      error: h('p', { class: 'step-error error' }),
      output: h('pre', { class: 'output', attrs: { tabindex: '0' } }),
    };
    elements.item.append(
      h(
        'div',
        { class: 'step-head' },
        h('span', { class: 'step-name' }, step.name),
        h('span', { class: 'step-type' }, step.type),
        elements.badge,
        elements.meta,
      ),
      elements.error,
      elements.output,
    );
    steps.set(step.position, elements);
    updateStep(step);
    return elements.item;
  }

  function updateStep(step: TaskStep): void {
    const elements = steps.get(step.position);
    if (!elements) return;
    elements.item.dataset.status = step.status;
    elements.badge.replaceChildren(statusBadge(step.status));
    const meta = [
      step.duration_ms !== null ? formatDuration(step.duration_ms) : null,
      step.exit_code !== null ? `exit ${step.exit_code}` : null,
      step.attempt !== null && (detail?.max_attempts ?? 1) > 1 ? `attempt ${step.attempt}` : null,
    ];
    elements.meta.textContent = meta.filter((part) => part !== null).join(' · ');
    elements.error.textContent = step.error ?? '';
    elements.error.hidden = step.error === null;
    // Streamed output until the record is read again after the step: it then holds the final text.
    const streamed = outputs.get(step.position);
    const streaming = streamed !== undefined && streamed.attempt === step.attempt;
    let text = streaming ? streamed.text : step.output;
    if (!streaming && step.output_truncated) {
      text = `[… the first ${step.output_bytes - new TextEncoder().encode(step.output).length} bytes are only in the logs …]\n${text}`;
    }
    elements.output.textContent = text;
    elements.output.hidden = text === '' && step.status !== 'running';
    elements.output.scrollTop = elements.output.scrollHeight;
  }

  function appendOutput(position: number, kept: LiveOutput, text: string): void {
    kept.text += text;
    const output = steps.get(position)?.output;
    if (!output) return;
    const following = output.scrollTop + output.clientHeight >= output.scrollHeight - 8;
    if (kept.text.length > OUTPUT_KEPT) {
      kept.text = kept.text.slice(-OUTPUT_KEPT);
      output.textContent = kept.text;
    } else {
      output.append(text);
    }
    output.hidden = false;
    if (following) output.scrollTop = output.scrollHeight;
  }

  async function act(action: 'cancel' | 'retry', button: HTMLButtonElement): Promise<void> {
    const token = session.token();
    const id = taskId;
    if (token === null || id === undefined) return;
    button.disabled = true;
    try {
      const result = await (action === 'cancel' ? api.cancel(token, id) : api.retry(token, id));
      notify(result.message);
      // A retried task starts over: follow it with a new stream.
      if (action === 'retry') open(id);
      else scheduleReload();
    } catch (error) {
      notify(
        error instanceof ApiError ? error.message : `Could not ${action}: ${String(error)}`,
        'error',
      );
      if (detail) renderHeader(detail);
    }
  }

  return {
    open,
    close: () => {
      if (dialog.open) dialog.close();
    },
    sessionChanged: () => {
      if (dialog.open && taskId !== undefined) open(taskId);
    },
  };
}
