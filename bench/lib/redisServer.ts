// A redis-server of the benchmark's own for BullMQ: a free port, a temporary directory, the
// persistence asked for; stopped (and its directory removed) afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export type RedisPersistence = 'aof-always' | 'none';

export interface RedisServer {
  readonly port: number;
  readonly version: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Throws with the reason (no redis-server on PATH, or it did not start) for a "skipped" line. */
export async function startRedis(persistence: RedisPersistence): Promise<RedisServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'iq-bench-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    // BullMQ wants its keys kept: no eviction.
    '--maxmemory-policy',
    'noeviction',
    ...(persistence === 'aof-always'
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no']),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.once('error', (error) => (output += `\n${error.message}`));
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const cleanup = async () => {
    await stopChild(child);
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, () => output);
  } catch (error) {
    await cleanup();
    throw error;
  }
  const version = /(?:version|v)=([\d.]+)/.exec(output)?.[1] ?? 'unknown';
  return { port, version, stop: cleanup };
}

async function waitReady(child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (/Ready to accept connections/i.test(output())) return;
    if (child.exitCode !== null || child.signalCode !== null || /ENOENT/.test(output())) {
      throw new Error(`redis-server exited: ${output().trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (Date.now() > deadline) throw new Error('redis-server did not become ready in 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.once('error', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
