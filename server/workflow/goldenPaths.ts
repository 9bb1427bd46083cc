// The golden paths: GOLDEN_PATHS_DIR/<name>.yaml (the shipped goldenpaths/ by default), each a
// named workflow the platform team owns. Read and validated once at start-up, so a broken file
// stops the server, naming the file, the field and the rule, instead of failing tasks later.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { describeZodError, summarizeProblems } from '../../shared/errors.js';
import { goldenPathNameSchema, workflowSchema, type Workflow } from '../../shared/spec.js';
import { ConfigError } from '../config.js';

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
  let files: string[];
  try {
    files = (await fs.readdir(dir)).sort();
  } catch (error) {
    throw new ConfigError(`GOLDEN_PATHS_DIR ${dir} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const paths = new Map<string, GoldenPath>();
  for (const file of files) {
    const ext = path.extname(file);
    if (ext !== '.yaml' && ext !== '.yml') continue;
    const name = path.basename(file, ext);
    const where = path.join(dir, file);
    const invalid = (why: string, cause?: unknown) =>
      new ConfigError(`Golden path file ${where} is invalid: ${why}`, { cause });
    const named = goldenPathNameSchema.safeParse(name);
    if (!named.success) {
      throw invalid(`the file name '${name}' ${named.error.issues[0]?.message ?? 'is not valid'}`);
    }
    if (paths.has(name)) throw invalid(`a golden path '${name}' is defined twice (.yaml and .yml)`);
    let document: unknown;
    try {
      document = parse(await fs.readFile(where, 'utf8'));
    } catch (error) {
      if (error instanceof YAMLParseError) throw invalid(`YAML: ${error.message}`, error);
      throw invalid((error as Error).message, error);
    }
    const parsed = goldenPathFileSchema.safeParse(document);
    if (!parsed.success) throw invalid(summarizeProblems(describeZodError(parsed.error)));
    paths.set(name, { name, ...parsed.data });
  }
  if (paths.size === 0) {
    throw new ConfigError(`GOLDEN_PATHS_DIR ${dir} holds no golden-path files (<name>.yaml)`);
  }
  return paths;
}
