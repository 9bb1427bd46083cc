// The SDK as another project gets it: `npm pack --workspace client`, the tarball installed into
// an empty project, a strict type-check without skipLibCheck, a browser bundle (esbuild) without
// Node's parts, and a script driving a real server.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, TOKEN, type TestServer } from '../helpers/testServer.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const CONSUMER = path.join(import.meta.dirname, 'packedClient');
/** Packing builds the package (its prepack); installing and type-checking start Node thrice. */
const DEADLINE_MS = 170_000;

let database: TestDatabase;
let server: TestServer;
let project: string;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer(database);
  project = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-packed-client-'));
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
  await fs.rm(project, { recursive: true, force: true });
});

// Packaging does not depend on the database: the PGlite pass is enough (it costs a minute).
it.skipIf(process.env.TEST_BACKEND === 'postgres')(
  'installs alone, type-checks strictly and drives a server with every method',
  async () => {
    const npm = (args: string[], cwd: string) =>
      run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
        cwd,
        timeout: DEADLINE_MS,
      });
    const packed = await npm(
      ['pack', '--workspace', 'client', '--pack-destination', project],
      ROOT,
    );
    const tarball = path.join(project, packed.stdout.trim().split('\n').at(-1) ?? '');

    await fs.writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await fs.copyFile(path.join(CONSUMER, 'drive.ts'), path.join(project, 'drive.ts'));
    await fs.copyFile(path.join(CONSUMER, 'tsconfig.json'), path.join(project, 'tsconfig.json'));
    // TypeScript, @trpc/client's optional peer, comes from this repository instead of the registry.
    await npm(['install', '--prefer-offline', '--omit=peer', tarball], project);
    const installed = await fs.readdir(path.join(project, 'node_modules'));
    expect(installed).not.toContain('fastify');
    expect(installed).not.toContain('pg');

    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', project], { cwd: project, timeout: DEADLINE_MS });

    // A browser bundle takes the fetch entry: neither undici nor any Node built-in comes along.
    const bundled = await build({
      stdin: { contents: "export * from '@innominatus-queue/client';", resolveDir: project },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const bundledInputs = Object.keys(bundled.metafile.inputs).join('\n');
    expect(bundledInputs).toContain('@innominatus-queue/client/dist/index.js');
    expect(bundledInputs).not.toContain('undici');

    const { stdout } = await run(
      process.execPath,
      [path.join(project, 'out/drive.js'), server.url, TOKEN],
      { cwd: project, timeout: 60_000 },
    );
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      enqueued: 'enqueued',
      statsAgree: true,
      status: 'cancelled',
      listed: true,
      retried: 'pending',
      missing: 'NOT_FOUND 404',
      batched: ['enqueued'],
      defaultPath: 'deploy-app',
    });
    expect(summary.events).toContain('task.status');
    expect(summary.log).toContain('started');
  },
  DEADLINE_MS + 60_000,
);
