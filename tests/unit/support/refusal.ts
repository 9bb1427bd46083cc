// Catches the TRPCError a function throws, so a test can look at its code, message and details.
import { TRPCError } from '@trpc/server';

export function refusal(fn: () => unknown): TRPCError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TRPCError) return error;
    throw error;
  }
  throw new Error('expected a TRPCError, but nothing was thrown');
}
