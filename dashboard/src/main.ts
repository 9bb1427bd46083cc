// The dashboard: the queue's stats, throughput, running and recent tasks, fed by one live stream
// (GET /api/queue/events); lists are read again, coalesced, when tasks change.
import './styles.css';
import type { QueueStats } from '../../shared/api.js';
import type { TaskEvent } from '../../shared/events.js';
import { createActiveTasksView } from './activeTasks.js';
import { api, ApiError } from './api.js';
import { byId, h } from './dom.js';
import { openLiveStream, type LiveStream, type StreamState } from './eventStream.js';
import { createRecentTasksView } from './recentTasks.js';
import { createSchedulingView } from './scheduling.js';
import { coalesce } from './schedule.js';
import { createSession } from './session.js';
import { createStatsPanel } from './statsPanel.js';
import { createTaskView } from './taskView.js';
import { taskIdOfHash } from './taskWidgets.js';
import { createThroughputChart, ThroughputSeries } from './throughputChart.js';

const session = createSession();
const notice = byId('notice');
const connection = byId('connection');

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
function notify(message: string, kind: 'info' | 'error' = 'info'): void {
  notice.textContent = message;
  notice.dataset.kind = kind;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (notice.hidden = true), kind === 'error' ? 10_000 : 5000);
}

const stats = createStatsPanel(byId('stats'));
const series = new ThroughputSeries();
const chart = createThroughputChart(byId('throughput'), series);
const active = createActiveTasksView(byId('active-tasks'), byId('active-count'));
const recent = createRecentTasksView({
  root: byId('recent-tasks'),
  token: () => session.token(),
  onLoaded: (tasks) => series.seed(tasks, Date.now()),
});
const scheduling = createSchedulingView({
  banner: byId('pauses'),
  root: byId('scheduled'),
  count: byId('scheduled-count'),
  token: () => session.token(),
});
const taskView = createTaskView({
  dialog: byId<HTMLDialogElement>('task-view'),
  session,
  notify,
  onClose: () => {
    // Leave #/tasks/<id> without a hashchange (and without a history entry).
    if (taskIdOfHash(location.hash))
      history.replaceState(null, '', location.pathname + location.search);
  },
});

async function loadActive(): Promise<void> {
  try {
    const list = await api.activeTasks(session.token());
    active.update(list);
    for (const task of list.tasks) recent.noteApp(task.app_name);
  } catch (error) {
    notify(`Could not load the active tasks: ${(error as Error).message}`, 'error');
  }
}
const refreshLists = coalesce(
  () => Promise.all([loadActive(), recent.refresh(), scheduling.refresh()]).then(),
  {
    delayMs: 250,
    maxWaitMs: 1000,
  },
);

function onTaskEvent(event: TaskEvent): void {
  switch (event.type) {
    case 'task.status':
      recent.noteApp(event.app_name);
      if (event.status === 'completed' || event.status === 'failed') {
        series.record(event.task_id, event.attempt, event.status, Date.parse(event.at), Date.now());
        chart.render(Date.now());
      }
      refreshLists();
      break;
    case 'step.started':
      active.stepStarted(event.task_id, event.name);
      break;
    case 'step.finished':
    case 'step.output':
      break;
  }
}

function showConnection(state: StreamState): void {
  connection.dataset.state = state.kind;
  connection.removeAttribute('title');
  switch (state.kind) {
    case 'connecting':
      connection.textContent = 'Connecting…';
      break;
    case 'open':
      connection.textContent = 'Live';
      break;
    case 'waiting':
      connection.textContent = `Reconnecting in ${Math.round(state.retryInMs / 1000)} s…`;
      connection.title = state.reason;
      break;
    case 'ended':
      connection.textContent = 'Disconnected';
      break;
    case 'refused':
      connection.textContent =
        state.error.status === 401 ? 'Sign in to see the queue' : state.error.message;
      break;
  }
}

let queueStream: LiveStream | undefined;
function connectQueue(): void {
  queueStream?.close();
  queueStream = openLiveStream({
    path: '/api/queue/events',
    token: session.token(),
    reconnectOnEnd: true,
    onState: (state) => {
      showConnection(state);
      // On the first connection and after every gap: what changed meanwhile was not streamed.
      if (state.kind === 'open') refreshLists();
    },
    onMessage: (message) => {
      if (message.event === 'stats') stats.update(JSON.parse(message.data) as QueueStats);
      else if (message.event === 'task') onTaskEvent(JSON.parse(message.data) as TaskEvent);
    },
  });
}

function renderAuth(): void {
  const root = byId('auth');
  if (session.token() !== null) {
    const signOut = h('button', { class: 'secondary', attrs: { type: 'button' } }, 'Sign out');
    signOut.addEventListener('click', () => session.signOut());
    root.replaceChildren(h('span', { class: 'signed-in' }, 'Signed in'), signOut);
    return;
  }
  const input = h('input', {
    attrs: {
      type: 'password',
      name: 'token',
      placeholder: 'API token',
      'aria-label': 'API token',
      autocomplete: 'off',
      required: '',
    },
  });
  const error = h('span', { class: 'error', attrs: { role: 'alert' } });
  const button = h('button', { attrs: { type: 'submit' } }, 'Sign in');
  const form = h('form', { class: 'sign-in' }, input, button, error);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token === '') return;
    button.disabled = true;
    // Any read with the token tells a valid one (200) from a bad one (401).
    api.stats(token).then(
      () => session.signIn(token),
      (e: unknown) => {
        button.disabled = false;
        error.textContent =
          e instanceof ApiError && e.status === 401
            ? 'That token is not valid.'
            : `Could not sign in: ${(e as Error).message}`;
      },
    );
  });
  root.replaceChildren(form);
}

function route(): void {
  const id = taskIdOfHash(location.hash);
  if (id !== undefined) taskView.open(id);
  else taskView.close();
}

session.onChange(() => {
  renderAuth();
  connectQueue();
  taskView.sessionChanged();
});
window.addEventListener('hashchange', route);
// Pauses and schedule ticks come with no event of their own: look again every few seconds.
setInterval(() => void scheduling.refresh(), 5000);
setInterval(() => {
  const now = Date.now();
  active.tick(now);
  chart.render(now);
}, 1000);

renderAuth();
chart.render(Date.now());
connectQueue();
route();
