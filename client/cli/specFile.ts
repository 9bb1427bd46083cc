// Reads Score specs from YAML or JSON files (JSON is YAML too), or from stdin with `-`: one spec
// per file, or several in a multi-document file. Syntax errors are reported here with their line;
// the rules are the server's to check.
import fs from 'node:fs/promises';
import { parseAllDocuments, type YAMLError } from 'yaml';
import { CliError, EXIT } from './exitCodes.js';

/** A spec read from a file, with where it came from: `b.yaml`, or `b.yaml (document 2)`. */
export interface SpecSource {
  label: string;
  spec: Record<string, unknown>;
}

/** Every spec of every file, in order; a file may hold several YAML documents. */
export async function readSpecFiles(files: readonly string[]): Promise<SpecSource[]> {
  const out: SpecSource[] = [];
  for (const file of files) {
    const name = file === '-' ? 'stdin' : file;
    const documents = parseAllDocuments(await readText(file), { prettyErrors: true });
    const list = Array.isArray(documents) ? documents : [];
    const problems = list.flatMap((doc, i) =>
      doc.errors.map(
        (error) => `  - ${list.length > 1 ? `document ${i + 1}, ` : ''}${describeYamlError(error)}`,
      ),
    );
    if (problems.length > 0) {
      throw new CliError(`Cannot parse ${name}:\n${problems.join('\n')}`, EXIT.refused);
    }
    const values = list.map((doc) => doc.toJS() as unknown);
    const specs = values.filter((v) => v !== null && v !== undefined);
    if (specs.length === 0) {
      throw new CliError(`${name} is empty: expected a Score spec.`, EXIT.refused);
    }
    values.forEach((value, i) => {
      if (value === null || value === undefined) return;
      const label = list.length > 1 ? `${name} (document ${i + 1})` : name;
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new CliError(
          `${label} does not hold a Score spec: expected a mapping (apiVersion, metadata, containers, …), found ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}.`,
          EXIT.refused,
        );
      }
      out.push({ label, spec: value as Record<string, unknown> });
    });
  }
  return out;
}

async function readText(file: string): Promise<string> {
  try {
    if (file !== '-') return await fs.readFile(file, 'utf8');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : (error as Error).message;
    throw new CliError(`Cannot read ${file}: ${why}.`, EXIT.refused, { cause: error });
  }
}

/** `line 3, column 1: Map keys must be unique` and the lines around it, indented. */
function describeYamlError(error: YAMLError): string {
  const position = error.linePos?.[0];
  const where = position ? `line ${position.line}, column ${position.col}: ` : '';
  // prettyErrors messages read "<what> at line L, column C:\n\n<excerpt with a caret>".
  const match = /^([\s\S]*?) at line \d+, column \d+:\n\n([\s\S]*)$/.exec(error.message);
  if (!match) return `${where}${error.message}`;
  const excerpt = match[2]!
    .replace(/\n+$/, '')
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  return `${where}${match[1]}\n${excerpt}`;
}
