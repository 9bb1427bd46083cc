// Turns a request body (YAML or JSON) into a validated Score spec, or a 400 that names the
// problem: bad syntax with its line, or each failing field with the rule it broke.
import { isUtf8 } from 'node:buffer';
import jsYaml from 'js-yaml';
import { describeZodError, summarizeProblems } from '../../shared/errors.js';
import { scoreSpecSchema, type ScoreSpec } from '../../shared/spec.js';
import { badRequest } from '../errors.js';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'] as const;
export const JSON_TYPES = ['application/json'] as const;
export const SPEC_TYPES = [...YAML_TYPES, ...JSON_TYPES];

/** Keys that could reach an object's prototype if a spec were ever merged into another object. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 64;

/**
 * `body` is what the content-type parser gave: a Buffer, or nothing when there was no body. A
 * leading byte order mark is dropped, as a UTF-8 TextDecoder would; `isUtf8` and `toString` are
 * about three times cheaper than a fatal TextDecoder on a batch of a thousand specs.
 */
export function decodeBody(body: unknown): string {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw badRequest('The request body is empty: send a Score spec.');
  }
  if (!isUtf8(body)) throw badRequest('The request body is not valid UTF-8 text.');
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseSpecText(text: string, format: 'yaml' | 'json'): unknown {
  checkSpecText(text);
  if (format === 'yaml') {
    const value = parseYaml(text);
    // Aliases share one object however often they are used; walked as a tree, a few lines can
    // stand for billions of nodes. Past this many, it is an alias bomb.
    checkSpecShape(value, Math.max(MAX_YAML_NODES, text.length));
    return value;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason =
      error instanceof RangeError || /call stack/i.test(String(error))
        ? 'it is nested too deeply'
        : firstLine(error);
    throw badRequest(`The request body is not valid JSON: ${reason}`);
  }
  checkSpecShape(value);
  return value;
}

const MAX_YAML_NODES = 10_000;

// js-yaml 4 rather than the `yaml` package used for batches and golden-path files: about 10 times
// faster on a spec (12 µs against 120 µs for the guide's), which was 40 % of a node's CPU under
// a flood of single enqueues. The core schema: YAML 1.2's types only (no timestamps, no `<<`
// merges); its depth limit stops the parser's recursion (the precise limit is checked after).
const YAML_OPTIONS = {
  schema: jsYaml.CORE_SCHEMA,
  maxDepth: MAX_DEPTH + 2,
} as jsYaml.LoadOptions;

function parseYaml(text: string): unknown {
  try {
    return jsYaml.load(text, YAML_OPTIONS);
  } catch (error) {
    if (!(error instanceof jsYaml.YAMLException)) throw error;
    if (error.reason.startsWith('nesting exceeded')) {
      throw badRequest(`The spec is nested more than ${MAX_DEPTH} levels deep.`);
    }
    if (error.reason.startsWith('expected a single document')) {
      throw badRequest(
        'The request body is not valid YAML: it holds multiple documents; send one spec here, or several to POST /api/specs/batch.',
      );
    }
    const at = error.mark ? ` at line ${error.mark.line + 1}, column ${error.mark.column + 1}` : '';
    throw badRequest(`The request body is not valid YAML: ${error.reason}${at}`);
  }
}

/** What a body's text must pass before any parser sees it. */
export function checkSpecText(text: string): void {
  if (text.includes('\u0000')) throw badRequest('The request body contains a NUL character.');
  // Before parsing: the parsers recurse once per level, and a stack overflow inside the YAML
  // parser can leave V8 unable to recover. A cheap scan bounds the nesting first.
  checkNesting(text);
}

export function validateSpec(value: unknown): ScoreSpec {
  const parsed = scoreSpecSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = describeZodError(parsed.error);
  throw badRequest(`Invalid Score spec: ${summarizeProblems(problems)}`, problems);
}

/**
 * Refuses what no schema should have to think about: a root that is not a mapping, keys that
 * could reach a prototype, NUL characters (PostgreSQL refuses them), nesting deeper than 64.
 * Runs on REST bodies after parsing and on tRPC input before its schema (see rawSpecGuard).
 * `maxNodes` bounds the walk (values counted as often as aliases repeat them).
 */
export function checkSpecShape(value: unknown, maxNodes = Infinity): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(
      'The request body must be a Score spec: a mapping with apiVersion, metadata and containers.',
    );
  }
  // Paths are built only for a problem: each visited key remembers its parent's entry.
  const keys: string[] = [];
  const parents: number[] = [];
  const pathOf = (entry: number): string => {
    const parts: string[] = [];
    for (let e = entry; e >= 0; e = parents[e]!) parts.push(keys[e]!);
    return parts.reverse().join('.');
  };
  const stack: unknown[] = [value];
  const depths: number[] = [0];
  const entries: number[] = [-1];
  let nodes = 0;
  while (stack.length > 0) {
    const node = stack.pop();
    const depth = depths.pop()!;
    const entry = entries.pop()!;
    if (++nodes > maxNodes) {
      throw badRequest(
        `The request body is not valid YAML: its aliases expand to more than ${maxNodes} values (resource exhaustion).`,
      );
    }
    // A NUL written as an escape ("\u0000", "\0") survives parsing; PostgreSQL refuses it.
    if (typeof node === 'string' && node.includes('\u0000')) {
      throw badRequest(`The spec contains a NUL character (at ${pathOf(entry) || '(root)'}).`);
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_DEPTH)
      throw badRequest(`The spec is nested more than ${MAX_DEPTH} levels deep.`);
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) {
        const at = entry < 0 ? key : `${pathOf(entry)}.${key}`;
        throw badRequest(`The spec may not use the key '${key}' (at ${at}).`);
      }
      if (key.includes('\u0000')) {
        throw badRequest(
          `The spec contains a NUL character in a key (at ${pathOf(entry) || '(root)'}).`,
        );
      }
      keys.push(key);
      parents.push(entry);
      stack.push((node as Record<string, unknown>)[key]);
      depths.push(depth + 1);
      entries.push(keys.length - 1);
    }
  }
}

/**
 * Limits of the scan before parsing: far above any real spec, far below where the YAML parser's
 * recursion gets dangerous (it handles 700 levels; thousands have crashed it).
 */
const MAX_TEXT_NESTING = 300;
const MAX_INDENT = 300;

/**
 * Refuses text with more than MAX_TEXT_NESTING unclosed brackets ([ {), or with a line indented
 * more than MAX_INDENT columns. Brackets inside strings count too; the limit is high enough that
 * no real spec reaches it. The precise depth limit (64) is checked after parsing.
 */
function checkNesting(text: string): void {
  let depth = 0;
  let indent = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_TEXT_NESTING) {
        throw badRequest(`The spec is nested more than ${MAX_DEPTH} levels deep.`);
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth = Math.max(0, depth - 1);
    }
    if (c === 0x0a) {
      lineStart = true;
      indent = 0;
    } else if (lineStart && (c === 0x20 || c === 0x09)) {
      if (++indent > MAX_INDENT) {
        throw badRequest(`The spec has a line indented more than ${MAX_INDENT} columns.`);
      }
    } else {
      lineStart = false;
    }
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
