// Runs a `DELETE … LIMIT $2` (batch size as its second parameter, `$1` the age) until a batch
// comes back short: many short transactions instead of one long lock. Resolves to the rows deleted.
import type { Queryable } from './database.js';

export async function deleteInBatches(
  db: Queryable,
  statement: string,
  options: { maxAgeMs: number; batchSize: number },
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = (
      await db.query(`${statement} RETURNING 1`, [options.maxAgeMs, options.batchSize])
    ).length;
    total += deleted;
    if (deleted < options.batchSize) return total;
  }
}
