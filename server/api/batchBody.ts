// Turns a POST /api/specs/batch body into batch items: JSON `{ "specs": [ { "spec", … } ] }`, or
// multi-document YAML (one Score spec per document). Every problem of every spec is collected,
// named by its index and field, before anything is stored.
import { parseAllDocuments } from 'yaml';
import { enqueueSpecsBodySchema, MAX_BATCH_SPECS } from '../../shared/api.js';
import { describeZodError, type FieldProblem } from '../../shared/errors.js';
import { scoreSpecSchema } from '../../shared/spec.js';
import { badRequest } from '../errors.js';
import type { BatchItem } from '../services/enqueueSpecs.js';
import { describeProblems } from '../services/enqueueSpecs.js';
import { checkSpecShape, checkSpecText, parseSpecText } from './specBody.js';
import { TRPCError } from '@trpc/server';

export function parseJsonBatch(text: string): BatchItem[] {
  // The same syntax, depth, NUL and prototype-key checks as a single spec, over the whole body.
  const value = rewordRootError(() => parseSpecText(text, 'json'));
  const parsed = enqueueSpecsBodySchema.safeParse(value);
  if (!parsed.success) throw invalidBatch(describeZodError(parsed.error));
  return parsed.data.specs.map((item) => ({
    spec: item.spec,
    goldenPath: item.golden_path,
    priority: item.priority,
    idempotencyKey: item.idempotency_key,
  }));
}

/** One spec per YAML document (`---` between them); empty documents are skipped. */
export function parseYamlBatch(text: string): BatchItem[] {
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
    items.push({ spec: parsed.data });
  });
  if (problems.length > 0) throw invalidBatch(problems);
  if (items.length === 0) {
    throw badRequest('The request body holds no Score spec: send YAML documents separated by ---.');
  }
  if (items.length > MAX_BATCH_SPECS) {
    throw invalidBatch([
      {
        path: 'documents',
        message: `must hold at most ${MAX_BATCH_SPECS} specs, not ${items.length}`,
      },
    ]);
  }
  return items;
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
