// `npx tsx bench/profile.ts <file.cpuprofile | folder> [--top N]`: where a server's CPU time went,
// by module and by function (self time). Profiles come from `npm run bench -- --profile` or
// `node --cpu-prof dist/server/index.js`.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatProfileSummary, summariseProfileFile } from './lib/cpuProfile.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' } },
  allowPositionals: true,
});
if (positionals.length === 0) {
  console.error('Usage: npx tsx bench/profile.ts <file.cpuprofile | folder> [--top N]');
  process.exit(2);
}
for (const target of positionals) {
  const files = (await fs.stat(target)).isDirectory()
    ? (await fs.readdir(target, { recursive: true }))
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()
        .map((f) => path.join(target, f))
    : [target];
  for (const file of files) {
    const summary = await summariseProfileFile(file, { root: ROOT, top: Number(values.top) });
    console.log(`${formatProfileSummary(summary)}\n`);
  }
}
