// Turns a request body (YAML or JSON) into a validated Score spec, or a 400 that names the
// problem: bad syntax with its line, or each failing field with the rule it broke.
import { parse as parseYaml } from 'yaml';
import { describeZodError, summarizeProblems } from '../../shared/errors.js';
import { scoreSpecSchema, type ScoreSpec } from '../../shared/spec.js';
import { badRequest } from '../errors.js';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'] as const;
export const JSON_TYPES = ['application/json'] as const;
export const SPEC_TYPES = [...YAML_TYPES, ...JSON_TYPES];

/** Keys that could reach an object's prototype if a spec were ever merged into another object. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `body` is what the content-type parser gave: a Buffer, or nothing when there was no body. */
export function decodeBody(body: unknown): string {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw badRequest('The request body is empty: send a Score spec.');
  }
  try {
    return utf8.decode(body);
  } catch {
    throw badRequest('The request body is not valid UTF-8 text.');
  }
}

export function parseSpecText(text: string, format: 'yaml' | 'json'): unknown {
  checkSpecText(text);
  let value: unknown;
  try {
    value =
      format === 'json'
        ? JSON.parse(text)
        : parseYaml(text, {
            maxAliasCount: 100,
            uniqueKeys: true,
            merge: false,
            prettyErrors: true,
            // Warnings (unknown tags, directives) would reach stderr with the client's text.
            logLevel: 'error',
          });
  } catch (error) {
    const reason =
      error instanceof RangeError || /call stack/i.test(String(error))
        ? 'it is nested too deeply'
        : firstLine(error);
    throw badRequest(
      `The request body is not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${reason}`,
    );
  }
  checkSpecShape(value);
  return value;
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
 */
export function checkSpecShape(value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(
      'The request body must be a Score spec: a mapping with apiVersion, metadata and containers.',
    );
  }
  const stack: { node: unknown; depth: number; path: string }[] = [
    { node: value, depth: 0, path: '' },
  ];
  while (stack.length > 0) {
    const { node, depth, path } = stack.pop()!;
    // A NUL written as an escape ("\u0000", "\0") survives parsing; PostgreSQL refuses it.
    if (typeof node === 'string' && node.includes('\u0000')) {
      throw badRequest(`The spec contains a NUL character (at ${path || '(root)'}).`);
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_DEPTH)
      throw badRequest(`The spec is nested more than ${MAX_DEPTH} levels deep.`);
    for (const key of Object.keys(node)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      if (FORBIDDEN_KEYS.has(key))
        throw badRequest(`The spec may not use the key '${key}' (at ${childPath}).`);
      if (key.includes('\u0000'))
        throw badRequest(`The spec contains a NUL character in a key (at ${path || '(root)'}).`);
      stack.push({
        node: (node as Record<string, unknown>)[key],
        depth: depth + 1,
        path: childPath,
      });
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
