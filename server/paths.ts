// Absolute paths of the files the server ships with, wherever it runs from (server/ under tsx,
// dist/server/ once built).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'drizzle'))) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`No project root above ${start}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'drizzle');
export const GOLDEN_PATHS_DIR = path.join(PROJECT_ROOT, 'goldenpaths');
