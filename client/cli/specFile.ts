// Reads a Score spec from a YAML or JSON file (JSON is YAML too), or from stdin with `-`.
// Syntax errors are reported here with their line; the rules are the server's to check.
import fs from 'node:fs/promises';
import { parseDocument, type YAMLError } from 'yaml';
import { CliError } from './exitCodes.js';
import { EXIT } from './exitCodes.js';

export async function readSpecFile(file: string): Promise<Record<string, unknown>> {
  const text = await readText(file);
  const name = file === '-' ? 'stdin' : file;
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => `  - ${describeYamlError(error)}`);
    throw new CliError(`Cannot parse ${name}:\n${problems.join('\n')}`, EXIT.refused);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) {
    throw new CliError(`${name} is empty: expected a Score spec.`, EXIT.refused);
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(
      `${name} does not hold a Score spec: expected a mapping (apiVersion, metadata, containers, …), found ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}.`,
      EXIT.refused,
    );
  }
  return value as Record<string, unknown>;
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
  if (error.code === 'MULTIPLE_DOCS') {
    return `${where}the file holds several YAML documents; a spec is one document`;
  }
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
