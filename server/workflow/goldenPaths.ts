// The shipped golden paths: goldenpaths/<name>.yaml, each a named workflow. Read and validated
// once at start-up, so a broken file stops the server instead of failing tasks later.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { describeZodError, summarizeProblems } from '../../shared/errors.js';
import { goldenPathNameSchema, workflowSchema, type Workflow } from '../../shared/spec.js';

export interface GoldenPath {
  name: string;
  description: string;
  workflow: Workflow;
}

const goldenPathFileSchema = z.strictObject({
  description: z.string().default(''),
  workflow: workflowSchema,
});

export type GoldenPaths = ReadonlyMap<string, GoldenPath>;

export async function loadGoldenPaths(dir: string): Promise<GoldenPaths> {
  const paths = new Map<string, GoldenPath>();
  for (const file of (await fs.readdir(dir)).sort()) {
    const ext = path.extname(file);
    if (ext !== '.yaml' && ext !== '.yml') continue;
    const name = path.basename(file, ext);
    const where = path.join(dir, file);
    if (!goldenPathNameSchema.safeParse(name).success) {
      throw new Error(`Golden path file ${where}: the name '${name}' is not a plain identifier`);
    }
    const parsed = goldenPathFileSchema.safeParse(parse(await fs.readFile(where, 'utf8')));
    if (!parsed.success) {
      throw new Error(
        `Golden path file ${where} is invalid: ${summarizeProblems(describeZodError(parsed.error))}`,
      );
    }
    paths.set(name, { name, ...parsed.data });
  }
  return paths;
}
