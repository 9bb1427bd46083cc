// The benchmarks run the built server (dist/), as production does: build it when it is missing
// (or when asked), and warn when the sources are newer than the build.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

const ENTRY = 'dist/server/index.js';

/** The newest .ts file under `dir` (0 when there is no such folder: a copy of dist/ alone). */
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const stat = await fs.stat(path.join(entry.parentPath, entry.name));
    newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

function npmRunBuild(root: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('exit', resolve);
  });
}

/** Returns a warning to show, if any. */
export async function ensureBuilt(
  root: string,
  options: { force: boolean; log: (message: string) => void },
): Promise<string | undefined> {
  const entry = path.join(root, ENTRY);
  const exists = await fs.access(entry).then(
    () => true,
    () => false,
  );
  if (!exists || options.force) {
    options.log(exists ? 'building (--build)…' : `${ENTRY} is missing: npm run build…`);
    const code = await npmRunBuild(root);
    const built = await fs.access(entry).then(
      () => true,
      () => false,
    );
    if (!built) throw new Error(`npm run build exited with ${code} and ${ENTRY} is missing`);
    if (code !== 0) {
      return `npm run build exited with ${code}, but ${ENTRY} was emitted; benchmarking it`;
    }
  }
  const built = (await fs.stat(entry)).mtimeMs;
  const sources = Math.max(
    await newestMtime(path.join(root, 'server')),
    await newestMtime(path.join(root, 'shared')),
  );
  if (sources > built) {
    return `server/ or shared/ changed after ${ENTRY} was built: pass --build to benchmark the current code`;
  }
  return undefined;
}

/** The commit of the benchmarked checkout, and its uncommitted changes under server/ and shared/. */
export async function describeSource(
  root: string,
): Promise<{ commit: string; uncommitted: string[] } | undefined> {
  const git = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`git ${code}`))));
    });
  try {
    const commit = (await git(['rev-parse', '--short', 'HEAD'])).trim();
    const status = await git(['status', '--porcelain', '--', 'server', 'shared']);
    return { commit, uncommitted: status.split('\n').filter((l) => l.trim() !== '') };
  } catch {
    return undefined; // not a git checkout (a copy of dist/)
  }
}
