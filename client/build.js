// Builds the package into dist/: each module transpiled by esbuild (the type-only imports of the
// server's router and of shared/ vanish), and one self-contained index.d.ts from
// dts-bundle-generator, which inlines the wire types of shared/ so nothing points outside.
import { rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';
import { generateDtsBundle } from 'dts-bundle-generator';

const here = `${import.meta.dirname}/`;
await rm(`${here}dist`, { recursive: true, force: true });
await build({
  entryPoints: [`${here}src/*.ts`],
  outdir: `${here}dist`,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});
const [declarations] = generateDtsBundle(
  [{ filePath: `${here}src/index.ts`, output: { noBanner: true, exportReferencedTypes: false } }],
  { preferredConfigPath: `${here}tsconfig.json` },
);
await writeFile(`${here}dist/index.d.ts`, declarations);
