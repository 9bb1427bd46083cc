// `npm start`'s prestart: runs `npm run build` only when a source is newer than the oldest build
// output (or an output is missing), so starting an up-to-date checkout starts at once.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** What the build reads: a change to any of them makes dist/ stale. */
const INPUTS = [
  'server',
  'shared',
  'client/src',
  'client/cli',
  'client/build.js',
  'client/package.json',
  'dashboard',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
];
/** What the build writes last in each of its three parts. */
const OUTPUTS = ['client/dist/index.d.ts', 'dist/server/index.js', 'dashboard/dist/index.html'];
const SKIPPED = new Set(['dist', 'node_modules']);

function newestMtime(file: string): number {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(file)) {
    if (!SKIPPED.has(entry)) newest = Math.max(newest, newestMtime(path.join(file, entry)));
  }
  return newest;
}

/** Why `root` needs a build, or undefined when its outputs are newer than every input. */
export function staleReason(root: string): string | undefined {
  let oldestOutput = Infinity;
  for (const output of OUTPUTS) {
    const stat = fs.statSync(path.join(root, output), { throwIfNoEntry: false });
    if (!stat) return `${output} is missing`;
    oldestOutput = Math.min(oldestOutput, stat.mtimeMs);
  }
  const changed = INPUTS.find((input) => newestMtime(path.join(root, input)) > oldestOutput);
  return changed === undefined ? undefined : `${changed} changed since the last build`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const root = path.resolve(import.meta.dirname, '..');
  const reason = staleReason(root);
  if (reason === undefined) {
    console.error('dist/ is up to date: not rebuilding');
  } else {
    console.error(`Building: ${reason}`);
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }
}
