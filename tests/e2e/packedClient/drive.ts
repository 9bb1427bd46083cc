// A consumer of the packed @innominatus-queue/client: every method, typed, against a live server.
// Usage: node drive.js <url> <token>. Prints one JSON summary line.
import {
  createQueueClient,
  QueueClientError,
  type QueueStats,
  type ScoreSpec,
  type Subscription,
  type TaskEvent,
} from '@innominatus-queue/client';

// The project has no @types/node on purpose; this is all of Node it needs.
declare const process: { argv: string[] };
const [url = '', token = ''] = process.argv.slice(2);
const client = createQueueClient({ url, token, timeoutMs: 10_000 });

const spec: ScoreSpec = {
  apiVersion: 'score.dev/v1b1',
  metadata: { name: 'packed-client' },
  containers: { web: { image: 'nginx:latest' } },
  workflow: {
    steps: [{ name: 'wait', type: 'bash', config: { command: 'echo started; sleep 30' } }],
  },
};

function next<T>(subscribe: (onData: (value: T) => void) => Subscription): Promise<T> {
  return new Promise((resolve) => {
    const subscription = subscribe((value) => {
      subscription.unsubscribe();
      resolve(value);
    });
  });
}

const before: QueueStats = await client.queueStats();
const streamed: QueueStats = await next((onData) => client.onStats({ onData }));
const { task_id: id, status } = await client.enqueueSpec({ spec, priority: 5 });
const active = await client.activeTasks();
const batch = await client.enqueueSpecs({
  specs: [
    {
      spec: {
        ...spec,
        metadata: { name: 'packed-batch' },
        workflow: { steps: [{ name: 'quick', type: 'bash', config: { command: 'true' } }] },
      },
    },
  ],
});
const paths = await client.goldenPaths();

// Once its step has printed, follow the task: cancel it on the first event, and collect the
// events until its stream ends.
for (let tries = 0; !(await client.taskLogs(id)).text.includes('started'); tries++) {
  if (tries > 200) throw new Error(`task ${id} printed nothing`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const events: TaskEvent['type'][] = [];
let cancelled = false;
await new Promise<void>((resolve, reject) => {
  client.onTask(id, {
    onData: (event) => {
      events.push(event.type);
      if (!cancelled) {
        cancelled = true;
        client.cancelTask(id).catch(reject);
      }
    },
    onError: reject,
    onComplete: resolve,
  });
});

const detail = await client.task(id);
const logs = await client.taskLogs(id, 0);
const list = await client.tasks({ limit: 5 });
const retried = await client.retryTask(id);
await client.cancelTask(id);
let missing: string | undefined;
try {
  await client.task('task-1-1');
} catch (error) {
  if (error instanceof QueueClientError) missing = `${error.code} ${error.httpStatus ?? ''}`;
}

console.log(
  JSON.stringify({
    enqueued: status,
    statsAgree: typeof before.workers === 'number' && typeof streamed.queue_size === 'number',
    activeIds: active.tasks.map((task) => task.id),
    events,
    status: detail.status,
    log: logs.text,
    listed: list.tasks.some((task) => task.id === id),
    retried: retried.status,
    missing,
    batched: batch.tasks.map((task) => task.status),
    defaultPath: paths.golden_paths.find((path) => path.default)?.name,
  }),
);
