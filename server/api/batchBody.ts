// Turns a POST /api/specs/batch body into batch items: JSON `{ "specs": [ { "spec", … } ] }`, or
// multi-document YAML (one Score spec per document). Every problem of every spec is collected,
// named by its index and field, before anything is stored.
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { batchSpecItemSchema, MAX_BATCH_SPECS } from '../../shared/api.js';
import { describeZodError, type FieldProblem } from '../../shared/errors.js';
import { scoreSpecSchema } from '../../shared/spec.js';
import { badRequest } from '../errors.js';
import type { BatchItem } from '../services/enqueueSpecs.js';
import { describeProblems } from '../services/enqueueSpecs.js';
import { checkSpecShape, checkSpecText, parseSpecText } from './specBody.js';
import { TRPCError } from '@trpc/server';

/** The items that parse, and a problem for each field of each item that does not. */
export interface ParsedBatch {
  items: BatchItem[];
  problems: FieldProblem[];
}

export function parseJsonBatch(text: string): ParsedBatch {
  // The same syntax, depth, NUL and prototype-key checks as a single spec, over the whole body.
  const value = rewordRootError(() => parseSpecText(text, 'json'));
  // The envelope first (a list of 1 to MAX_BATCH_SPECS), then each item, so that every item's
  // problems are found and the items that parse can have their golden paths checked too.
  const envelope = z
    .strictObject({
      specs: z
        .array(z.unknown())
        .min(1, 'must hold at least one spec')
        .max(MAX_BATCH_SPECS, `must hold at most ${MAX_BATCH_SPECS} specs`),
    })
    .safeParse(value);
  if (!envelope.success) throw invalidBatch(describeZodError(envelope.error));
  const items: BatchItem[] = [];
  const problems: FieldProblem[] = [];
  envelope.data.specs.forEach((raw, index) => {
    const at = `specs[${index}]`;
    const parsed = batchSpecItemSchema.safeParse(raw);
    if (!parsed.success) {
      for (const p of describeZodError(parsed.error)) {
        problems.push({ path: p.path === '(root)' ? at : `${at}.${p.path}`, message: p.message });
      }
      return;
    }
    items.push({
      spec: parsed.data.spec,
      goldenPath: parsed.data.golden_path,
      priority: parsed.data.priority,
      idempotencyKey: parsed.data.idempotency_key,
      at,
    });
  });
  return { items, problems };
}

/** One spec per YAML document (`---` between them); empty documents are skipped. */
export function parseYamlBatch(text: string): ParsedBatch {
  checkSpecText(text);
  const documents = parseAllDocuments(text, {
    uniqueKeys: true,
    merge: false,
    prettyErrors: true,
    // Warnings (unknown tags, directives) would reach stderr with the client's text.
    logLevel: 'error',
  });
  if (!Array.isArray(documents)) {
    throw badRequest('The request body holds no Score spec: send YAML documents separated by ---.');
  }
  const problems: FieldProblem[] = [];
  const items: BatchItem[] = [];
  documents.forEach((document, index) => {
    const at = `documents[${index}]`;
    const error = document.errors[0];
    if (error) {
      problems.push({ path: at, message: `is not valid YAML: ${error.message.split('\n')[0]}` });
      return;
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      problems.push({ path: at, message: `is not valid YAML: ${String(cause)}` });
      return;
    }
    if (value === null || value === undefined) return;
    try {
      checkSpecShape(value);
    } catch (cause) {
      problems.push({ path: at, message: cause instanceof Error ? cause.message : String(cause) });
      return;
    }
    const parsed = scoreSpecSchema.safeParse(value);
    if (!parsed.success) {
      for (const p of describeZodError(parsed.error)) {
        problems.push({ path: p.path === '(root)' ? at : `${at}.${p.path}`, message: p.message });
      }
      return;
    }
    items.push({ spec: parsed.data, at });
  });
  if (items.length === 0 && problems.length === 0) {
    throw badRequest('The request body holds no Score spec: send YAML documents separated by ---.');
  }
  if (items.length + problems.length > MAX_BATCH_SPECS) {
    throw invalidBatch([
      {
        path: 'documents',
        message: `must hold at most ${MAX_BATCH_SPECS} specs, not ${documents.length}`,
      },
    ]);
  }
  return { items, problems };
}

function invalidBatch(problems: FieldProblem[]): TRPCError {
  return badRequest(`Invalid batch, nothing stored: ${describeProblems(problems)}`, problems);
}

/** A root that is not a mapping: say what a batch looks like, not what a spec does. */
function rewordRootError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof TRPCError && error.message.startsWith('The request body must be')) {
      throw badRequest(
        'The request body must be a batch: {"specs": [{"spec": <Score spec>, "golden_path"?, "priority"?, "idempotency_key"?}, …]}.',
      );
    }
    throw error;
  }
}
