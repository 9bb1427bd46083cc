// The step sandbox (STEP_SANDBOX): every bash step runs inside bubblewrap, in its own PID, IPC
// and UTS namespaces (no process of the host is visible or can be signalled, so neither the
// server's /proc/<pid>/environ nor its pid is in reach), on a read-only view of the host's
// filesystem with a private /tmp and the task's working directory as the only writable places,
// and optionally without a network. Resolved once at start-up: `auto` falls back to unisolated
// steps with a warning, `bwrap` refuses to start without a working bubblewrap.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config.js';

export interface StepSandbox {
  /** Absolute path of the bwrap binary. */
  bwrap: string;
  /** Host paths bind-mounted writable (STEP_WRITABLE_PATHS). */
  writablePaths: string[];
  /** Host paths hidden from steps: the server's own data directory and token file. */
  hiddenDirs: string[];
  hiddenFiles: string[];
  network: boolean;
}

/** `command -v name` over a PATH string. */
export function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The arguments that put a command in the sandbox, with `workDir` writable and current, and
 * `tmpDir` (a fresh tmpfs without it) as its /tmp.
 *
 * No `--new-session`: the step's process group is already a session of its own without a
 * terminal (it is spawned detached), and staying in that group lets timeouts and cancels signal
 * every process of the step. Killing bwrap ends the whole sandbox: its PID 1 dies with it
 * (`--die-with-parent`), and with PID 1 every process of the namespace.
 */
export function sandboxArgs(
  sandbox: StepSandbox,
  dirs: { workDir: string; tmpDir?: string | undefined },
): string[] {
  const { workDir, tmpDir } = dirs;
  // prettier-ignore
  const args = [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    ...(tmpDir ? ['--bind', tmpDir, '/tmp'] : ['--tmpfs', '/tmp']),
    '--unshare-pid', '--unshare-ipc', '--unshare-uts',
    '--hostname', 'step',
    '--die-with-parent',
    // As root, bwrap keeps every capability unless told: a root step could remount / writable.
    '--cap-drop', 'ALL',
  ];
  if (!sandbox.network) args.push('--unshare-net');
  for (const dir of sandbox.hiddenDirs) args.push('--tmpfs', dir);
  // /dev/null over the file, on a nodev mount: opening it fails (EACCES).
  for (const file of sandbox.hiddenFiles) args.push('--ro-bind', '/dev/null', file);
  // After /tmp's tmpfs: these may lie under /tmp (the default WORK_DIR does).
  for (const dir of sandbox.writablePaths) args.push('--bind', dir, dir);
  args.push('--bind', workDir, workDir, '--chdir', workDir, '--');
  return args;
}

/**
 * The PGlite data directory, to hide it from steps. It is created here when missing (PGlite would
 * create it a moment later) because a path that does not exist cannot be hidden; if that fails,
 * opening the database reports it.
 */
function pgliteDataDir(config: Config): string[] {
  if (config.database.kind !== 'pglite' || config.database.dataDir.startsWith('memory://')) {
    return [];
  }
  try {
    fs.mkdirSync(config.database.dataDir, { recursive: true });
  } catch {
    return [];
  }
  return [config.database.dataDir];
}

/** What resolveStepSandbox needs besides the configuration. */
export interface SandboxContext {
  logger: Logger;
  stepUser?: { uid: number; gid: number } | undefined;
}

/**
 * Finds bubblewrap and checks that it can build the sandbox here (user namespaces may be
 * forbidden): undefined when steps run unisolated.
 */
export function resolveStepSandbox(
  config: Config,
  context: SandboxContext,
): StepSandbox | undefined {
  const { mode, writablePaths, network, searchPath } = config.steps.sandbox;
  if (mode === 'off') {
    context.logger.warn(
      'STEP_SANDBOX=off: steps are not isolated; they can read the server process environment and signal it',
    );
    return undefined;
  }
  for (const dir of writablePaths) {
    if (!fs.existsSync(dir)) {
      throw new ConfigError(
        `STEP_WRITABLE_PATHS: ${dir} does not exist; create it or remove it from the list`,
      );
    }
  }
  const unavailable = (why: string): undefined => {
    if (mode === 'bwrap') {
      throw new ConfigError(
        `STEP_SANDBOX=bwrap: ${why}. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) or set STEP_SANDBOX=auto or off`,
      );
    }
    context.logger.warn(
      `Steps are NOT isolated: ${why}. They run as the server's user (or STEP_USER) and can read the server process environment; install bubblewrap (apt-get install bubblewrap), or set STEP_SANDBOX=off if that is intended`,
    );
    return undefined;
  };
  const bwrap = findOnPath('bwrap', searchPath);
  if (!bwrap) return unavailable('bwrap (bubblewrap) is not on PATH');
  const sandbox: StepSandbox = {
    bwrap,
    writablePaths,
    hiddenDirs: pgliteDataDir(config),
    hiddenFiles:
      config.auth.tokensFile !== undefined && fs.existsSync(config.auth.tokensFile)
        ? [path.resolve(config.auth.tokensFile)]
        : [],
    network,
  };
  // One real sandbox, as the steps will get it, as the steps' user.
  fs.mkdirSync(config.steps.workDir, { recursive: true });
  const probe = spawnSync(
    bwrap,
    [...sandboxArgs(sandbox, { workDir: config.steps.workDir }), 'true'],
    {
      encoding: 'utf8',
      timeout: 10_000,
      uid: context.stepUser?.uid,
      gid: context.stepUser?.gid,
    },
  );
  if (probe.error || probe.status !== 0) {
    const detail = probe.error?.message ?? (probe.stderr.trim() || `exit code ${probe.status}`);
    return unavailable(`bubblewrap cannot create a sandbox here (${detail})`);
  }
  context.logger.info(
    { bwrap, network, writablePaths },
    'Steps run in a bubblewrap sandbox: own PID, IPC and UTS namespaces, read-only host filesystem',
  );
  return sandbox;
}
