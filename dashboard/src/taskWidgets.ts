// Small pieces every task list shares: a link that opens the task view, and a status badge.
import type { TaskStatus } from '../../shared/taskStatus.js';
import { h } from './dom.js';

const TASK_HASH = /^#\/tasks\/([\w.:-]{1,128})$/;

export function taskHash(id: string): string {
  return `#/tasks/${id}`;
}

/** The task id in `#/tasks/<id>`, if the location names one. */
export function taskIdOfHash(hash: string): string | undefined {
  return TASK_HASH.exec(hash)?.[1];
}

export function taskLink(id: string): HTMLAnchorElement {
  return h('a', { class: 'task-id', attrs: { href: taskHash(id) } }, id);
}

export function statusBadge(status: TaskStatus): HTMLSpanElement {
  return h('span', { class: `status status-${status}`, data: { status } }, status);
}
