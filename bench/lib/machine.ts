// Where the figures came from: CPU, cores, memory, the disk's fsync rate (pg_test_fsync), the
// Node, PostgreSQL and PGlite versions, and how busy the machine was.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

const run = promisify(execFile);

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** `SHOW server_version` of the benchmark's PostgreSQL, when it has one. */
  postgres?: string | undefined;
  /** The PGlite package version and the PostgreSQL version inside it. */
  pglite: string;
  /** fdatasync of one 8 kB write per second (pg_test_fsync -s 1), in the temp directory. */
  fsync?: { opsPerSecond: number; method: string; directory: string } | string | undefined;
  /** 1, 5 and 15 minute load averages when the run started. */
  loadAverage: number[];
}

export async function describeMachine(options: {
  root: string;
  postgresUrl?: string | undefined;
  measureFsync: boolean;
}): Promise<MachineInfo> {
  const cpuinfo = await fs.readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? '?';
  return {
    cpuModel,
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: options.postgresUrl ? await postgresVersion(options.postgresUrl) : undefined,
    pglite: await pgliteVersion(options.root),
    fsync: options.measureFsync ? await fsyncRate() : undefined,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? '?';
  } finally {
    await client.end();
  }
}

async function pgliteVersion(root: string): Promise<string> {
  const pkg = JSON.parse(
    await fs.readFile(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8'),
  ) as { version: string };
  const db = await PGlite.create('memory://');
  try {
    const { rows } = await db.query<{ server_version: string }>('SHOW server_version');
    return `${pkg.version} (PostgreSQL ${rows[0]?.server_version ?? '?'})`;
  } finally {
    await db.close();
  }
}

/** The newest /usr/lib/postgresql/<v>/bin/pg_test_fsync, if installed. */
async function findPgTestFsync(): Promise<string | undefined> {
  try {
    const versions = (await fs.readdir('/usr/lib/postgresql')).sort(
      (a, b) => Number(b) - Number(a),
    );
    for (const v of versions) {
      const bin = `/usr/lib/postgresql/${v}/bin/pg_test_fsync`;
      if (
        await fs.access(bin).then(
          () => true,
          () => false,
        )
      )
        return bin;
    }
  } catch {
    // no PostgreSQL installed
  }
  return undefined;
}

async function fsyncRate(): Promise<MachineInfo['fsync']> {
  const bin = await findPgTestFsync();
  if (!bin) return 'pg_test_fsync not found';
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'iq-bench-fsync-'));
  try {
    const { stdout } = await run(bin, ['-s', '1', '-f', path.join(dir, 'test.out')], {
      timeout: 120_000,
    });
    // The first block is "one 8kB write"; fdatasync is Linux's default wal_sync_method.
    const line = /^\s*fdatasync\s+([\d.]+) ops\/sec/m.exec(stdout);
    return line
      ? { opsPerSecond: Math.round(Number(line[1])), method: 'fdatasync', directory: os.tmpdir() }
      : `could not read pg_test_fsync's output`;
  } catch (error) {
    return `pg_test_fsync failed: ${(error as Error).message}`;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
