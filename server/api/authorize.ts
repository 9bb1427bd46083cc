// Who may do what, decided once for both the tRPC procedures and the REST routes.
import { TRPCError } from '@trpc/server';
import type { Config } from '../config.js';
import type { Principal } from '../services/context.js';
import type { AuthResult } from './auth.js';

const unauthorized = () =>
  new TRPCError({
    code: 'UNAUTHORIZED',
    message: 'A valid token is required: send Authorization: Bearer <token>.',
  });

/** Reads: open unless REQUIRE_AUTH_FOR_READS; a token that is sent must be valid. */
export function authorizeRead(auth: AuthResult, config: Config): void {
  if (auth.kind === 'invalid') throw unauthorized();
  if (auth.kind === 'anonymous' && config.auth.requireForReads) throw unauthorized();
}

/** Reads that can expose secrets (task output): always need a token. */
export function authorizeSensitiveRead(auth: AuthResult): Principal {
  if (auth.kind !== 'authenticated') throw unauthorized();
  return auth.principal;
}

/**
 * Anything that changes the queue: an `admin` or `developer` token. What a developer may change
 * (golden paths only, its own tasks) is checked by the services, which see the spec and the task.
 */
export function authorizeWrite(auth: AuthResult): Principal {
  if (auth.kind !== 'authenticated') throw unauthorized();
  if (auth.principal.role === 'read') {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `User '${auth.principal.user}' has a read-only token and cannot change the queue.`,
    });
  }
  return auth.principal;
}

/** Cluster settings such as webhooks (their URLs and secrets can carry credentials): admin only. */
export function authorizeAdmin(auth: AuthResult): Principal {
  const principal = authorizeWrite(auth);
  if (principal.role !== 'admin') {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `User '${principal.user}' has a ${principal.role} token; this needs the admin role.`,
    });
  }
  return principal;
}
