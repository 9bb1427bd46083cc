// NOTIFY payloads are measured in bytes (PostgreSQL refuses 8,000 or more): non-ASCII text and
// escaped control characters take several bytes each, and a step's output too large for one
// payload is split over several events without cutting a character in two.
import { describe, expect, it } from 'vitest';
import { fit, MAX_PAYLOAD_BYTES, pack } from '../../server/events/eventHub.js';
import type { TaskEvent } from '../../shared/events.js';

const output = (text: string, skipped = 0): TaskEvent => ({
  type: 'step.output',
  task_id: 'task-1',
  attempt: 1,
  position: 0,
  text,
  skipped,
});

const bytes = (s: string) => Buffer.byteLength(s);

describe('fit and pack', () => {
  it.each([
    ['ASCII', 'a'.repeat(30_000)],
    ['three-byte characters', '€'.repeat(10_000)],
    ['surrogate pairs', '😀'.repeat(6_000)],
    ['escaped control characters', '\u0001\u0000'.repeat(5_000)],
    ['a mix', 'ü€😀\u0002x'.repeat(3_000)],
  ])('splits %s into payloads under the limit, losing nothing', (_name, text) => {
    const pieces = fit(output(text, 42), MAX_PAYLOAD_BYTES - 100)!;
    expect(pieces.length).toBeGreaterThan(1);
    const events = pieces.map((p) => JSON.parse(p) as Extract<TaskEvent, { type: 'step.output' }>);
    expect(events.map((e) => e.text).join('')).toBe(text);
    expect(events.map((e) => e.skipped)).toEqual([42, ...events.slice(1).map(() => 0)]);
    for (const e of events) expect(e.text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    const payloads = pack('node-é', pieces);
    for (const payload of payloads) expect(bytes(payload)).toBeLessThan(8_000);
    const unpacked = payloads.flatMap((p) => (JSON.parse(p) as { e: unknown[] }).e);
    expect(unpacked).toEqual(events);
  });

  it('keeps a small event whole and packs many into one payload', () => {
    const small = Array.from({ length: 20 }, (_, i) => JSON.stringify(output(`line ${i}`)));
    expect(fit(output('hello'), 7_000)).toEqual([JSON.stringify(output('hello'))]);
    expect(pack('n', small)).toHaveLength(1);
  });

  it('cannot split events other than output: they are left to be sent by reference', () => {
    const status: TaskEvent = {
      type: 'task.status',
      task_id: 't',
      app_name: 'a',
      status: 'failed',
      attempt: 1,
      error_message: '€'.repeat(5_000),
      at: new Date().toISOString(),
    };
    expect(fit(status, 7_000)).toBeUndefined();
  });
});
