// Forks steps from a small helper process instead of the server. Linux's fork copies the page
// tables of the process that forks: from a server with a few hundred MB resident, one `bash -c
// true` costs several times what it costs from a bare Node process (measured in BENCHMARKS.md).
// The helper is a bare Node process that only spawns, relays output and exits, over an IPC
// channel. The server keeps the pids and signals process groups itself, as with spawnDirect;
// the helper kills a step's group when the step exits. If the server dies, the helper sees its
// channel close and kills every step's group; if the helper dies, the server kills the groups of
// its steps and reports them killed. So steps forked here need no watchdog of their own
// (bashStep.ts): one fork and one exec per step, as from a bare loop.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { killStepGroup, type SpawnStep, type StepProcessHandlers } from './stepProcess.js';

/**
 * How long the helper holds a step's exit back for its output pipes to close, so that both go to
 * the server as one message. A step whose pipes stay open longer (a process outside its group
 * holds them) is reported exited after this, and its pipes' close later, as before.
 */
const EXIT_HOLD_MS = 20;

// The helper's whole program (plain JavaScript: it runs as `node --input-type=module --eval`, so
// it needs neither a build nor a loader, and it imports nothing but child_process).
const HELPER_SOURCE = `
import { spawn } from 'node:child_process';
// The server decides when steps stop: a Ctrl-C or a SIGTERM meant for it must not end them.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
const live = new Map();
const send = (message) => { if (process.connected) process.send(message); };
process.on('disconnect', () => {
  for (const child of live.values()) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
  }
  process.exit(0);
});
process.on('message', (m) => {
  if (m.t === 'drop') {
    const child = live.get(m.id);
    live.delete(m.id);
    child?.stdout.destroy();
    child?.stderr.destroy();
    return;
  }
  let child;
  try {
    child = spawn(m.file, m.args, {
      cwd: m.cwd, env: m.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], uid: m.uid, gid: m.gid,
    });
  } catch (error) {
    send({ t: 'error', id: m.id, message: error.message });
    return;
  }
  child.on('error', (error) => {
    live.delete(m.id);
    send({ t: 'error', id: m.id, message: error.message });
  });
  if (child.pid === undefined) return;
  live.set(m.id, child);
  send({ t: 'start', id: m.id, pid: child.pid });
  let open = 2;
  let exited = false;
  // The exit, held back a moment for the pipes to close (and their close held for the exit): a
  // step ends with one message unless something outside its group keeps its pipes open.
  let held;
  const closed = () => {
    open -= 1;
    if (open > 0) return;
    if (held !== undefined) {
      clearTimeout(held.timer);
      send({ t: 'done', id: m.id, code: held.code, signal: held.signal });
      held = undefined;
      live.delete(m.id);
      return;
    }
    // Closed before the exit: the exit says both.
    if (!exited) return;
    send({ t: 'closed', id: m.id });
    live.delete(m.id);
  };
  child.stdout.on('data', (chunk) => send({ t: 'data', id: m.id, chunk, err: false }));
  child.stderr.on('data', (chunk) => send({ t: 'data', id: m.id, chunk, err: true }));
  child.stdout.once('close', closed);
  child.stderr.once('close', closed);
  child.on('exit', (code, signal) => {
    // What the step left running in its group dies with it; a background process holding the
    // pipes would otherwise keep them open.
    try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    if (open === 0) {
      send({ t: 'done', id: m.id, code, signal });
      live.delete(m.id);
      return;
    }
    const timer = setTimeout(() => {
      held = undefined;
      exited = true;
      send({ t: 'exit', id: m.id, code, signal });
    }, ${EXIT_HOLD_MS});
    held = { code, signal, timer };
  });
});
`;

type HelperMessage =
  | { t: 'start'; id: number; pid: number }
  | { t: 'data'; id: number; chunk: Buffer; err: boolean }
  | { t: 'closed'; id: number }
  | { t: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  /** The exit and the close of both pipes, in one message. */
  | { t: 'done'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { t: 'error'; id: number; message: string };

interface LiveStep {
  handlers: StepProcessHandlers;
  /** The step's pid (= its group), once started. */
  pid: number | undefined;
  started: boolean;
  exited: boolean;
  outputClosed: boolean;
}

export class StepLauncher {
  private helper: ChildProcess | undefined;
  private readonly steps = new Map<number, LiveStep>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly logger: Logger) {}

  /** A SpawnStep for bashStep.ts: the step is forked by the helper (started on first use). */
  readonly spawn: SpawnStep = (command, handlers) => {
    const id = this.nextId++;
    if (this.closed) {
      queueMicrotask(() => handlers.onError('the step launcher is closed (the node is stopping)'));
      return { abandonOutput: () => undefined };
    }
    const helper = this.ensureHelper();
    this.steps.set(id, {
      handlers,
      pid: undefined,
      started: false,
      exited: false,
      outputClosed: false,
    });
    this.refChanged();
    helper.send({ t: 'spawn', id, ...command });
    return {
      abandonOutput: () => {
        if (this.forget(id)) this.helper?.send({ t: 'drop', id });
      },
    };
  };

  /** Stops the helper (it kills the groups of steps still running) and waits for it to exit. */
  async close(): Promise<void> {
    this.closed = true;
    const helper = this.helper;
    if (!helper || helper.exitCode !== null || helper.signalCode !== null) return;
    const exited = new Promise((resolve) => helper.once('exit', resolve));
    if (helper.connected) helper.disconnect();
    const timer = setTimeout(() => helper.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }

  private ensureHelper(): ChildProcess {
    if (this.helper) return this.helper;
    const helper = spawn(process.execPath, ['--input-type=module', '--eval', HELPER_SOURCE], {
      // Nothing of the server's environment: the helper needs none, and passes each step its own.
      env: {},
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      // Out of the server's process group: a signal sent to the group (a terminal's Ctrl-C, a
      // supervisor's kill) reaches the server, which then ends the helper by closing the channel.
      detached: true,
    });
    this.helper = helper;
    helper.on('message', (message: HelperMessage) => this.onMessage(message));
    helper.on('error', (error) => this.logger.error({ err: error }, 'step launcher error'));
    helper.once('exit', (code, signal) => {
      if (this.helper === helper) this.helper = undefined;
      if (!this.closed) {
        this.logger.error({ code, signal }, 'the step launcher exited; starting a new one');
      }
      // Its steps may still run (their parent is gone, not their group): killed here, they are
      // reported killed.
      for (const [id, step] of this.steps) {
        this.forget(id);
        if (step.started) {
          if (!step.exited) {
            killStepGroup(step.pid);
            step.handlers.onExit(null, 'SIGKILL');
          }
          if (!step.outputClosed) step.handlers.onOutputClosed();
        } else {
          step.handlers.onError(`the step launcher exited (${signal ?? `code ${code}`})`);
        }
      }
    });
    return helper;
  }

  private onMessage(message: HelperMessage): void {
    const step = this.steps.get(message.id);
    if (!step) return;
    switch (message.t) {
      case 'start':
        step.started = true;
        step.pid = message.pid;
        step.handlers.onStart(message.pid);
        break;
      case 'data':
        // The channel's serializer ('advanced') hands Buffers over as Buffers.
        step.handlers.onData(message.chunk, message.err);
        break;
      case 'exit':
        step.exited = true;
        if (step.outputClosed) this.forget(message.id);
        step.handlers.onExit(message.code, message.signal);
        break;
      case 'closed':
        step.outputClosed = true;
        if (step.exited) this.forget(message.id);
        step.handlers.onOutputClosed();
        break;
      case 'done':
        step.exited = true;
        step.outputClosed = true;
        this.forget(message.id);
        step.handlers.onExit(message.code, message.signal);
        step.handlers.onOutputClosed();
        break;
      case 'error':
        this.forget(message.id);
        step.handlers.onError(message.message);
        break;
    }
  }

  private forget(id: number): boolean {
    const had = this.steps.delete(id);
    if (had) this.refChanged();
    return had;
  }

  /** The helper keeps this process alive only while it runs steps. */
  private refChanged(): void {
    const helper = this.helper;
    if (!helper) return;
    if (this.steps.size > 0) {
      helper.ref();
      helper.channel?.ref();
    } else {
      helper.unref();
      helper.channel?.unref();
    }
  }
}
