// The REST calls the page makes, typed with the server's wire shapes (types only: nothing of
// ../shared ends up in the bundle).
import type { ActiveTasks, QueueStats } from '../../shared/api.js';
import type { ErrorBody } from '../../shared/errors.js';
import type { Pauses, ScheduleList } from '../../shared/scheduling.js';
import type { TaskStatus } from '../../shared/taskStatus.js';
import type { TaskAction, TaskDetail, TaskList, TaskListInput } from '../../shared/tasks.js';

export type { TaskStatus };

/** A refusal from the server, with its error code (`UNAUTHORIZED`, `CONFLICT`…). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The error a refused response carries, in the one JSON error shape of the API. */
export async function errorOf(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => undefined)) as Partial<ErrorBody> | undefined;
  return new ApiError(
    response.status,
    body?.error?.code ?? 'HTTP_ERROR',
    body?.error?.message ?? `The server answered ${response.status}.`,
  );
}

async function request<T>(
  method: 'GET' | 'POST',
  path: string,
  token: string | null,
  signal?: AbortSignal,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, signal: signal ?? null });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

export const api = {
  stats: (token: string | null) => request<QueueStats>('GET', '/api/queue/stats', token),

  activeTasks: (token: string | null) =>
    request<ActiveTasks>('GET', '/api/queue/active-tasks', token),

  tasks(token: string | null, input: TaskListInput): Promise<TaskList> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(input)) {
      if (value !== undefined) query.set(key, String(value));
    }
    return request<TaskList>('GET', `/api/queue/tasks?${query.toString()}`, token);
  },

  task: (token: string, id: string, signal?: AbortSignal) =>
    request<TaskDetail>('GET', `/api/queue/tasks/${encodeURIComponent(id)}`, token, signal),

  cancel: (token: string, id: string) =>
    request<TaskAction>('POST', `/api/queue/tasks/${encodeURIComponent(id)}/cancel`, token),

  pauses: (token: string | null) => request<Pauses>('GET', '/api/queue/paused', token),

  schedules: (token: string | null) => request<ScheduleList>('GET', '/api/schedules', token),

  retry: (token: string, id: string) =>
    request<TaskAction>('POST', `/api/queue/tasks/${encodeURIComponent(id)}/retry`, token),
};
