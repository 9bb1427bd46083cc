// Runs of alike task.status events travel between nodes in a compact form: rebuilt exactly on the
// other side, split under the payload limit, and never formed across events that differ in
// status, attempt or error, or whose time would not come back unchanged.
import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, pack } from '../../server/events/eventHub.js';
import {
  decodeStatusRun,
  encodeStatusRun,
  statusRunLength,
} from '../../server/events/statusRuns.js';
import type { TaskEvent } from '../../shared/events.js';

const T0 = Date.parse('2026-12-06T20:00:00.000Z');

function status(i: number, more: Partial<Extract<TaskEvent, { type: 'task.status' }>> = {}) {
  return {
    type: 'task.status' as const,
    task_id: `task-1796590000000000${String(i).padStart(3, '0')}-${i}`,
    app_name: `app-${i}`,
    status: 'pending' as const,
    attempt: 0,
    error_message: null,
    at: new Date(T0 + (i % 7)).toISOString(),
    ...more,
  };
}

const decodeAll = (items: string[]) =>
  items.flatMap((item) => decodeStatusRun(JSON.parse(item)) ?? []);

describe('status runs', () => {
  it('rebuild a thousand events exactly, in order, in a quarter of the bytes', () => {
    const events = Array.from({ length: 1000 }, (_, i) => status(i));
    expect(statusRunLength(events, 0)).toBe(1000);
    const room = 7_800;
    const items = encodeStatusRun(events, room);
    for (const item of items) expect(Buffer.byteLength(item)).toBeLessThanOrEqual(room);
    expect(decodeAll(items)).toEqual(events);
    const oneByOne = events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)) + 1, 0);
    const compact = items.reduce((n, item) => n + Buffer.byteLength(item), 0);
    expect(compact).toBeLessThan(oneByOne / 3);
    // Packed into NOTIFY payloads, every payload stays under PostgreSQL's limit.
    for (const payload of pack('node-1', items)) {
      expect(Buffer.byteLength(payload)).toBeLessThan(MAX_PAYLOAD_BYTES);
    }
  });

  it('end where status, attempt or error differ, and at any other kind of event', () => {
    const events: TaskEvent[] = [
      status(1),
      status(2),
      status(3, { status: 'running', attempt: 1 }),
      status(4, { status: 'running', attempt: 1 }),
      status(5, { status: 'running', attempt: 2 }),
      status(6, { status: 'failed', attempt: 2, error_message: 'exit 1' }),
      status(7, { status: 'failed', attempt: 2, error_message: 'exit 1' }),
      status(8, { status: 'failed', attempt: 2, error_message: 'exit 2' }),
      { type: 'step.output', task_id: 't', attempt: 1, position: 0, text: 'x', skipped: 0 },
      status(9),
    ];
    expect(events.map((_, i) => statusRunLength(events, i))).toEqual([
      2, 0, 2, 0, 0, 2, 0, 0, 0, 0,
    ]);
    expect(decodeAll(encodeStatusRun(events.slice(5, 7), 7_000))).toEqual(events.slice(5, 7));
  });

  it('leave out events whose time or fields would not travel unchanged', () => {
    const odd = [
      status(1, { at: '2026-12-06T20:00:00Z' }), // not as toISOString writes it
      status(2, { at: 'yesterday' }),
      status(3, { app_name: 'a'.repeat(400) }),
      status(4, { status: 'failed', error_message: '€'.repeat(400) }),
    ];
    for (const event of odd) expect(statusRunLength([event, event], 0)).toBe(0);
  });

  it('splits a run of wide names into items that each fit the room', () => {
    const events = Array.from({ length: 200 }, (_, i) => status(i, { app_name: `€😀-${i}` }));
    const items = encodeStatusRun(events, 2_000);
    expect(items.length).toBeGreaterThan(1);
    for (const item of items) expect(Buffer.byteLength(item)).toBeLessThanOrEqual(2_000);
    expect(decodeAll(items)).toEqual(events);
  });

  it('refuses malformed run items instead of inventing events', () => {
    const base = { k: 'status-run', s: 'pending', a: 0, x: null, t0: T0 };
    expect(decodeStatusRun({ ...base, r: ['task-1', 'app', 0] })).toHaveLength(1);
    expect(decodeStatusRun({ ...base, r: ['task-1', 'app'] })).toBeUndefined();
    expect(decodeStatusRun({ ...base, r: ['task-1', 2, 0] })).toBeUndefined();
    expect(decodeStatusRun({ ...base, s: 'lost', r: [] })).toBeUndefined();
    expect(decodeStatusRun({ ...base, t0: 1e20, r: ['task-1', 'app', 0] })).toBeUndefined();
    expect(decodeStatusRun({ type: 'task.status' })).toBeUndefined();
    expect(decodeStatusRun(null)).toBeUndefined();
  });
});
