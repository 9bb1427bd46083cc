// A PostgreSQL server of the test's own (initdb in a temporary directory, its own port), for
// tests that stop and restart the database under running nodes without disturbing anyone else.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PrivatePostgres {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

async function binDir(): Promise<string | undefined> {
  try {
    const versions = await fs.readdir('/usr/lib/postgresql');
    const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
    return newest ? `/usr/lib/postgresql/${newest}/bin` : undefined;
  } catch {
    return undefined;
  }
}

/** Why a private server cannot be made here, or undefined when it can. */
export async function privatePostgresUnavailable(): Promise<string | undefined> {
  if (!(await binDir())) return 'no PostgreSQL server binaries under /usr/lib/postgresql';
  if (process.getuid?.() === 0) {
    try {
      await run('id', ['postgres']);
    } catch {
      return 'running as root without a postgres user to run initdb as';
    }
  }
  return undefined;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = (await binDir())!;
  const asRoot = process.getuid?.() === 0;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-pg-'));
  const data = path.join(dir, 'data');
  // initdb and the server refuse to run as root.
  const as = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
  if (asRoot) await run('chown', ['postgres', dir]);
  await as(`${bin}/initdb`, [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const pgctl = (...args: string[]) =>
    as(`${bin}/pg_ctl`, ['-D', data, '-l', path.join(dir, 'log'), ...args]);
  // A port below Linux's ephemeral range (32768–60999), so that no outgoing connection of the
  // tests can be holding it when the server starts or restarts; another test's private server may
  // still have picked it, so the first start tries a few.
  let port = 0;
  let options = '';
  for (let attempt = 1; ; attempt++) {
    port = 20_000 + Math.floor(Math.random() * 12_000);
    options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    try {
      await pgctl('-o', options, '-w', 'start');
      break;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pgctl('-m', 'fast', '-w', 'stop');
    },
    start: async () => {
      await pgctl('-o', options, '-w', 'start');
    },
    destroy: async () => {
      await pgctl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
