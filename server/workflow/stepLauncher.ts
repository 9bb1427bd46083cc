// Forks steps from a small helper process instead of the server. Linux's fork copies the page
// tables of the process that forks: from a server with a few hundred MB resident, one `bash -c
// true` costs several times what it costs from a bare Node process (measured in BENCHMARKS.md).
// The helper is a bare Node process that only spawns, relays output and exits, over an IPC
// channel. The server keeps the pids and signals process groups itself, as with spawnDirect;
// the helper kills a step's group when the step exits. If the server dies, the helper sees its
// channel close and kills every step's group; if the helper dies, the server kills the groups of
// its steps and reports them killed. So steps forked here need no watchdog of their own
// (bashStep.ts): one fork (a vfork where posix_spawn is available) and one exec per step.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { killStepGroup, type SpawnStep, type StepProcessHandlers } from './stepProcess.js';

/**
 * How long the helper holds a step's exit back for its output pipes to close, so that both go to
 * the server as one message. A step whose pipes stay open longer (a process outside its group
 * holds them) is reported exited after this, and its pipes' close later, as before.
 */
const EXIT_HOLD_MS = 20;

// The helper's whole program (plain JavaScript: it runs as `node --input-type=module --eval`, so
// it needs neither a build nor a loader). Its one argument is the path of koffi (a C FFI), or
// `off`. With koffi it forks steps with libc's posix_spawn: a vfork, which shares the helper's
// memory until the exec instead of copying its page tables and then taking a copy-on-write fault
// for every page it writes next (what Node's fork does, and what makes a bare Node loop's spawn
// cost several times bash's own start on some VMs). Without koffi, or for a step that runs as
// another user (posix_spawn cannot set the uid), it forks with child_process.spawn as before.
const HELPER_SOURCE = `
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
// The server decides when steps stop: a Ctrl-C or a SIGTERM meant for it must not end them.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
const send = (message) => { if (process.connected) process.send(message); };
// SIGKILL to a step's process group: what it left running dies with it. Usually the group is
// gone already (ESRCH): with libc (below) that is a return value, not an Error and its stack.
let killGroup = (pid) => { try { process.kill(-pid, 'SIGKILL'); } catch {} };
// A send to a server that just went away fails (EPIPE): the disconnect below follows.
process.on('error', () => {});
const errnoNames = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
// The first name of a number, as Node reports it (SIGABRT, not SIGIOT; SIGIO, not SIGPOLL).
const signalNames = new Map();
for (const [name, n] of Object.entries(os.constants.signals)) {
  if (!signalNames.has(n)) signalNames.set(n, name);
}

function posixSpawner(koffiPath) {
  if (process.platform !== 'linux') throw new Error('not Linux');
  const koffi = createRequire(koffiPath)(koffiPath);
  let libc;
  for (const name of ['libc.so.6', 'libc.so']) {
    try { libc = koffi.load(name); break; } catch {}
  }
  if (!libc) throw new Error('no libc to load');
  const f = (signature) => libc.func(signature);
  // Out-parameters are Int32Arrays: koffi passes their memory as it is, with nothing to copy back
  // or to finalize.
  const pipe2 = f('int pipe2(int *fds, int flags)');
  const close = f('int close(int fd)');
  const waitpid = f('int waitpid(int pid, int *status, int options)');
  const kill = f('int kill(int pid, int sig)');
  const faInit = f('int posix_spawn_file_actions_init(void *actions)');
  const faDestroy = f('int posix_spawn_file_actions_destroy(void *actions)');
  const faOpen = f('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)');
  const faDup2 = f('int posix_spawn_file_actions_adddup2(void *actions, int fd, int to)');
  const faChdir = f('int posix_spawn_file_actions_addchdir_np(void *actions, const char *path)');
  const attrInit = f('int posix_spawnattr_init(void *attr)');
  const attrSetFlags = f('int posix_spawnattr_setflags(void *attr, short flags)');
  const attrSetMask = f('int posix_spawnattr_setsigmask(void *attr, void *set)');
  const attrSetDefault = f('int posix_spawnattr_setsigdefault(void *attr, void *set)');
  const sigEmpty = f('int sigemptyset(void *set)');
  const sigFill = f('int sigfillset(void *set)');
  const posixSpawn = f('int posix_spawn(int *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)');
  // Opaque libc structs, allocated larger than any libc makes them (glibc: 80 and 336 bytes).
  const attr = Buffer.alloc(1024);
  const actions = Buffer.alloc(1024);
  const noSignals = Buffer.alloc(128);
  const allSignals = Buffer.alloc(128);
  sigEmpty(noSignals);
  sigFill(allSignals);
  // glibc's sigfillset leaves out the two signals it keeps for itself (32 and 33), and its
  // posix_spawn then leaves them ignored across the exec: signals 1-64 by hand.
  allSignals.fill(0xff, 0, 8);
  attrInit(attr);
  attrSetMask(attr, noSignals);
  // Every signal to its default: Node ignores SIGPIPE, and an ignored signal stays ignored
  // across exec.
  attrSetDefault(attr, allSignals);
  // POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF (glibc and musl).
  attrSetFlags(attr, 0x80 | 0x08 | 0x04);
  const O_CLOEXEC = 0o2000000;
  // Never 0 or less: kill(0) would signal the helper's own group.
  killGroup = (pid) => { if (pid > 0) kill(-pid, 9); };
  const exits = new Map();
  const status = new Int32Array(1);
  process.on('SIGCHLD', () => {
    for (const [pid, onExit] of exits) {
      const reaped = waitpid(pid, status, 1);
      if (reaped === 0) continue;
      exits.delete(pid);
      const s = status[0];
      if (reaped !== pid) onExit(null, null);
      else if ((s & 0x7f) === 0) onExit((s >> 8) & 0xff, null);
      else onExit(null, signalNames.get(s & 0x7f) ?? null);
    }
  });
  // As execvp does, but with the step's PATH (libuv's spawn does the same).
  const resolve = (file, searchPath) => {
    if (file.includes('/')) return file;
    for (const dir of (searchPath ?? '/usr/bin:/bin').split(':')) {
      if (dir === '') continue;
      const candidate = path.join(dir, file);
      try {
        // A directory without the program is the common case: no exception for it (an Error's
        // stack trace cost more than the rest of a spawn's lookup).
        if (!fs.statSync(candidate, { throwIfNoEntry: false })?.isFile()) continue;
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      } catch {}
    }
    return undefined;
  };
  return (m) => {
    const fail = (code) => { throw new Error('spawn ' + m.file + ' ' + code); };
    // A variable without a value is left out, as Node's spawn leaves it out.
    const env = Object.entries(m.env)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => key + '=' + value);
    // C strings end at a NUL: refused, as Node refuses them, rather than cut short.
    for (const text of [m.file, m.cwd, ...m.args, ...env]) {
      if (text.includes('\\0')) throw new Error('a command, argument or variable holds a NUL byte');
    }
    const file = resolve(m.file, m.env.PATH);
    if (file === undefined) fail('ENOENT');
    const out = new Int32Array(2);
    const err = new Int32Array(2);
    if (pipe2(out, O_CLOEXEC) !== 0) fail(errnoNames.get(koffi.errno()) ?? 'EMFILE');
    if (pipe2(err, O_CLOEXEC) !== 0) {
      close(out[0]);
      close(out[1]);
      fail(errnoNames.get(koffi.errno()) ?? 'EMFILE');
    }
    faInit(actions);
    faOpen(actions, 0, '/dev/null', 0, 0);
    faDup2(actions, out[1], 1);
    faDup2(actions, err[1], 2);
    faChdir(actions, m.cwd);
    const pid = new Int32Array(1);
    const failed = posixSpawn(pid, file, actions, attr, [m.file, ...m.args, null], [...env, null]);
    faDestroy(actions);
    close(out[1]);
    close(err[1]);
    if (failed !== 0) {
      close(out[0]);
      close(err[0]);
      fail(errnoNames.get(failed) ?? 'error ' + failed);
    }
    return {
      pid: pid[0],
      stdout: new net.Socket({ fd: out[0], readable: true, writable: false }),
      stderr: new net.Socket({ fd: err[0], readable: true, writable: false }),
      onExit: (listener) => exits.set(pid[0], listener),
    };
  };
}

let spawnFast;
try {
  if (process.argv[1] === 'off') throw new Error('turned off');
  spawnFast = posixSpawner(process.argv[1]);
  send({ t: 'ready', forker: 'posix_spawn' });
} catch (error) {
  send({ t: 'ready', forker: 'fork', reason: error.message });
}

const live = new Map();
process.on('disconnect', () => {
  for (const step of live.values()) killGroup(step.pid);
  process.exit(0);
});
process.on('message', (m) => {
  if (m.t === 'drop') {
    const step = live.get(m.id);
    live.delete(m.id);
    step?.stdout.destroy();
    step?.stderr.destroy();
    return;
  }
  if (spawnFast && m.uid === undefined && m.gid === undefined) {
    let started;
    try {
      started = spawnFast(m);
    } catch (error) {
      send({ t: 'error', id: m.id, message: error.message });
      return;
    }
    track(m.id, started);
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
  track(m.id, {
    pid: child.pid,
    stdout: child.stdout,
    stderr: child.stderr,
    onExit: (listener) => child.on('exit', listener),
  });
});

function track(id, step) {
  const { pid, stdout, stderr } = step;
  live.set(id, step);
  send({ t: 'start', id, pid });
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
      send({ t: 'done', id, code: held.code, signal: held.signal });
      held = undefined;
      live.delete(id);
      return;
    }
    // Closed before the exit: the exit says both.
    if (!exited) return;
    send({ t: 'closed', id });
    live.delete(id);
  };
  stdout.on('data', (chunk) => send({ t: 'data', id, chunk, err: false }));
  stderr.on('data', (chunk) => send({ t: 'data', id, chunk, err: true }));
  // A read error ends the pipe like its close does.
  stdout.on('error', () => {});
  stderr.on('error', () => {});
  stdout.once('close', closed);
  stderr.once('close', closed);
  step.onExit((code, signal) => {
    // What the step left running in its group dies with it; a background process holding the
    // pipes would otherwise keep them open.
    killGroup(pid);
    if (open === 0) {
      send({ t: 'done', id, code, signal });
      live.delete(id);
      return;
    }
    const timer = setTimeout(() => {
      held = undefined;
      exited = true;
      send({ t: 'exit', id, code, signal });
    }, ${EXIT_HOLD_MS});
    held = { code, signal, timer };
  });
}
`;

/** How the helper forks steps: libc's posix_spawn (through koffi), or Node's fork and exec. */
export type StepForker = 'posix_spawn' | 'fork';

export interface StepLauncherOptions {
  /** Fork with posix_spawn where the helper can (default); false: always Node's spawn. */
  posixSpawn?: boolean;
}

/** Signals a process dies of by its own fault. */
const CRASHES = new Set<NodeJS.Signals>([
  'SIGSEGV',
  'SIGBUS',
  'SIGILL',
  'SIGFPE',
  'SIGABRT',
  'SIGSYS',
]);

type HelperMessage =
  | { t: 'ready'; forker: StepForker; reason?: string }
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
  /** How the running helper forks, once it has said. */
  private forkerInUse: StepForker | undefined;
  /** A helper crashed while forking with posix_spawn: the next ones fork with Node's fork. */
  private posixSpawnCrashed = false;
  /** Settles when the running helper says how it forks. */
  private ready: Promise<StepForker> | undefined;
  private onReady: ((forker: StepForker) => void) | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly options: StepLauncherOptions = {},
  ) {}

  /** How the helper forks steps (it is started if it does not run). */
  forker(): Promise<StepForker> {
    if (this.closed) return Promise.resolve('fork');
    const helper = this.ensureHelper();
    // Until it answers, the helper keeps this process alive; then only while it runs steps.
    helper.ref();
    helper.channel?.ref();
    return (this.ready ?? Promise.resolve<StepForker>('fork')).finally(() => this.refChanged());
  }

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
    this.ready = new Promise((resolve) => (this.onReady = resolve));
    const helper = spawn(
      process.execPath,
      ['--input-type=module', '--eval', HELPER_SOURCE, '--', this.koffiPath()],
      {
        // Nothing of the server's environment: the helper needs none, and passes each step its own.
        env: {},
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
        // Out of the server's process group: a signal sent to the group (a terminal's Ctrl-C, a
        // supervisor's kill) reaches the server, which then ends the helper by closing the channel.
        detached: true,
      },
    );
    this.helper = helper;
    helper.on('message', (message: HelperMessage) => this.onMessage(message));
    helper.on('error', (error) => this.logger.error({ err: error }, 'step launcher error'));
    helper.once('exit', (code, signal) => {
      if (this.helper === helper) this.helper = undefined;
      this.onReady?.('fork');
      if (!this.closed) {
        this.logger.error({ code, signal }, 'the step launcher exited; starting a new one');
        // A crash (not a kill: an OOM killer's SIGKILL says nothing of the code) in a helper that
        // calls libc through an FFI: fork as Node does from now on, rather than crash again.
        if (this.forkerInUse === 'posix_spawn' && signal !== null && CRASHES.has(signal)) {
          this.posixSpawnCrashed = true;
          this.logger.error(
            { signal },
            'the step launcher crashed while forking with posix_spawn: steps are forked with fork from now on',
          );
        }
      }
      this.forkerInUse = undefined;
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

  /** Where the helper finds koffi, or `off`. */
  private koffiPath(): string {
    if (this.options.posixSpawn === false || this.posixSpawnCrashed) return 'off';
    try {
      return createRequire(import.meta.url).resolve('koffi');
    } catch {
      return 'off';
    }
  }

  private onMessage(message: HelperMessage): void {
    if (message.t === 'ready') {
      this.forkerInUse = message.forker;
      if (message.forker === 'posix_spawn') this.logger.debug('steps are forked with posix_spawn');
      else if (this.options.posixSpawn !== false) {
        this.logger.warn(
          { reason: message.reason },
          'posix_spawn is not available: steps are forked with fork, which costs more',
        );
      }
      this.onReady?.(message.forker);
      return;
    }
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
