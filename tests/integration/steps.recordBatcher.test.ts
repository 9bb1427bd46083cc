// Step rows are written in shared statements: a quick step's start and end as one row, steps that
// start together in one insert, an end always after its start even when it arrives while the
// start is in flight, and a row the database refuses costs no other row its record. A step whose
// start was not sent yet is handed over whole, for its task's result statement to carry.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Queryable } from '../../server/db/database.js';
import { claimTasks } from '../../server/queue/claimTasks.js';
import { StepRecordBatcher } from '../../server/workflow/stepRecordBatcher.js';
import type { StepEnd } from '../../server/workflow/stepRecords.js';
import { postSpec, specYaml, useApiOnlyNode } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const api = useApiOnlyNode();
const silent = pino({ level: 'silent' });
const batchers: StepRecordBatcher[] = [];

afterEach(async () => {
  await Promise.all(batchers.splice(0).map((b) => b.drain()));
});

/** The database, counting the statements sent through it; `hold` parks them until released. */
function counting(db: Queryable) {
  const sent: string[] = [];
  let gate: Promise<void> | undefined;
  let refuse: ((params: readonly unknown[]) => boolean) | undefined;
  const wrapped: Queryable = {
    async query<Row>(text: string, params?: readonly unknown[]) {
      sent.push(text);
      await gate;
      if (refuse?.(params ?? [])) throw new Error('refused by the test');
      return db.query<Row>(text, params);
    },
  };
  return {
    db: wrapped,
    sent,
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
    refuseWhen(check: (params: readonly unknown[]) => boolean) {
      refuse = check;
    },
  };
}

function batcher(db: Queryable, startDelayMs?: number): StepRecordBatcher {
  const created = new StepRecordBatcher(db, silent, startDelayMs);
  batchers.push(created);
  return created;
}

async function claimedTask(app: string): Promise<number> {
  await postSpec(api.node.url, specYaml(app, ['true']));
  const [task] = await claimTasks(api.db, { nodeId: `n-${app}`, limit: 1, leaseMs: 60_000 });
  return task!.id;
}

interface StepRow {
  position: number;
  status: string;
  exit_code: number | null;
  output: string;
  output_bytes: number;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

const rows = (taskRowId: number) =>
  api.db.query<StepRow>(
    `SELECT position, status, exit_code, output, output_bytes, error, started_at, finished_at
     FROM queue_task_steps WHERE task_id = $1 ORDER BY position`,
    [taskRowId],
  );

const ok = (output = 'done\n'): StepEnd => ({
  status: 'completed',
  exitCode: 0,
  output,
  outputBytes: Buffer.byteLength(output),
  error: null,
});

const step = (taskRowId: number, position = 0) => ({
  taskRowId,
  attempt: 1,
  position,
  name: `s${position}`,
  type: 'bash',
});

describe('StepRecordBatcher', () => {
  it("writes a quick step's start and end as one row, in one statement", async () => {
    const id = await claimedTask('quick');
    const db = counting(api.db);
    const started = batcher(db.db, 60_000).start(step(id));
    await started.end(ok());
    expect(db.sent).toHaveLength(1);
    const [row] = await rows(id);
    expect(row).toMatchObject({ status: 'completed', exit_code: 0, output: 'done\n' });
    expect(row!.started_at.getTime()).toBeLessThanOrEqual(row!.finished_at!.getTime());
  });

  it('shares one insert between steps that start together, and shows them running', async () => {
    const ids = [await claimedTask('together-1'), await claimedTask('together-2')];
    const db = counting(api.db);
    const recorder = batcher(db.db, 5);
    const started = ids.map((id) => recorder.start(step(id)));
    for (const id of ids) {
      await waitFor(async () => (await rows(id))[0]?.status === 'running', {
        what: 'the start rows',
      });
    }
    expect(db.sent).toHaveLength(1);
    const before = (await rows(ids[0]!))[0]!.started_at;
    await Promise.all(started.map((s) => s.end({ ...ok(), status: 'failed', exitCode: 3 })));
    const [row] = await rows(ids[0]!);
    // The end replaces the row and keeps its start.
    expect(row).toMatchObject({ status: 'failed', exit_code: 3, output: 'done\n' });
    expect(row!.started_at).toEqual(before);
  });

  it('writes an end that arrives while its start is in flight after the start', async () => {
    const id = await claimedTask('in-flight');
    const db = counting(api.db);
    const recorder = batcher(db.db, 0);
    const release = db.hold();
    const started = recorder.start(step(id));
    await waitFor(() => db.sent.length === 1, { what: 'the start to be sent' });
    let ended = false;
    const end = started.end(ok('late\n')).then(() => (ended = true));
    // Not acknowledged while the statement before it is still in flight.
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    release();
    await end;
    expect(db.sent).toHaveLength(2);
    expect(await rows(id)).toMatchObject([{ status: 'completed', output: 'late\n' }]);
  });

  it('writes the rest of a refused batch step by step, and an end without its output', async () => {
    const ids = [await claimedTask('refused-1'), await claimedTask('refused-2')];
    const db = counting(api.db);
    const recorder = batcher(db.db, 60_000);
    // The database refuses any statement that carries this output.
    db.refuseWhen((params) => JSON.stringify(params).includes('POISON'));
    const one = recorder.start(step(ids[0]!));
    const two = recorder.start(step(ids[1]!));
    // A row for a task that does not exist: refused by the foreign key.
    const orphan = recorder.start(step(2 ** 40));
    await Promise.all([one.end(ok('POISON')), two.end(ok()), orphan.end(ok())]);
    expect(await rows(ids[0]!)).toMatchObject([
      {
        status: 'completed',
        output: '',
        error: expect.stringContaining('its output could not be stored') as unknown,
      },
    ]);
    expect(await rows(ids[1]!)).toMatchObject([{ status: 'completed', output: 'done\n' }]);
    expect(await rows(2 ** 40)).toEqual([]);
  });

  it('hands over a step whose start was not sent: its whole row, and nothing written', async () => {
    const id = await claimedTask('handed-over');
    const db = counting(api.db);
    const recorder = batcher(db.db, 60_000);
    const carried = recorder.start(step(id)).handOver(ok('carried\n'));
    expect(carried?.record()).toMatchObject({
      taskRowId: id,
      position: 0,
      end: { status: 'completed', exitCode: 0, output: 'carried\n' },
    });
    expect(carried!.record().startedAgoMs).toBeGreaterThanOrEqual(0);
    // The batcher no longer holds it: a drain sends nothing.
    await recorder.drain();
    expect(db.sent).toEqual([]);
    expect(await rows(id)).toEqual([]);
    // A statement that carried it failed: it can still be written on its own.
    await carried!.writeApart();
    expect(await rows(id)).toMatchObject([{ status: 'completed', output: 'carried\n' }]);
  });

  it('keeps a step whose start was sent: no hand-over, its end follows the start', async () => {
    const id = await claimedTask('sent-first');
    const db = counting(api.db);
    const recorder = batcher(db.db, 0);
    const started = recorder.start(step(id));
    await waitFor(async () => (await rows(id))[0]?.status === 'running', {
      what: 'the start row',
    });
    expect(started.handOver(ok())).toBeUndefined();
    await started.end(ok());
    expect(db.sent).toHaveLength(2);
    expect(await rows(id)).toMatchObject([{ status: 'completed', output: 'done\n' }]);
  });

  it('writes a handed-over row apart without its output when the database refuses it', async () => {
    const id = await claimedTask('apart-refused');
    const db = counting(api.db);
    db.refuseWhen((params) => JSON.stringify(params).includes('POISON'));
    const carried = batcher(db.db, 60_000).start(step(id)).handOver(ok('POISON'));
    await carried!.writeApart();
    expect(await rows(id)).toMatchObject([
      {
        status: 'completed',
        output: '',
        error: expect.stringContaining('its output could not be stored') as unknown,
      },
    ]);
  });

  it('sends a waiting start when drained', async () => {
    const id = await claimedTask('drained');
    const recorder = batcher(api.db, 60_000);
    recorder.start(step(id));
    expect(await rows(id)).toEqual([]);
    await recorder.drain();
    expect(await rows(id)).toMatchObject([{ status: 'running', finished_at: null }]);
  });
});
