// authorize.ts: 401 when the caller is not known (or the token is wrong), 403 when a read-only
// token tries to change the queue. What a developer token may change: api.roles.test.ts.
import os from 'node:os';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { describe, expect, it } from 'vitest';
import type { AuthResult } from '../../server/api/auth.js';
import {
  authorizeRead,
  authorizeSensitiveRead,
  authorizeWrite,
} from '../../server/api/authorize.js';
import { loadConfig } from '../../server/config.js';

const anonymous: AuthResult = { kind: 'anonymous' };
const invalid: AuthResult = { kind: 'invalid' };
const admin: AuthResult = {
  kind: 'authenticated',
  principal: { user: 'alice', role: 'admin', tokenId: 'a1' },
};
const developer: AuthResult = {
  kind: 'authenticated',
  principal: { user: 'dave', role: 'developer', tokenId: 'd4' },
};
const reader: AuthResult = {
  kind: 'authenticated',
  principal: { user: 'bob', role: 'read', tokenId: 'b2' },
};

const openReads = loadConfig({}, { cwd: os.tmpdir() });
const closedReads = loadConfig({ REQUIRE_AUTH_FOR_READS: 'true' }, { cwd: os.tmpdir() });

function thrown(fn: () => unknown): TRPCError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TRPCError) return error;
    throw error;
  }
  throw new Error('expected a TRPCError');
}

describe('authorizeRead', () => {
  it('lets anyone read when reads are open', () => {
    for (const auth of [anonymous, admin, reader]) {
      expect(() => authorizeRead(auth, openReads)).not.toThrow();
    }
  });

  it('refuses a wrong token even when reads are open', () => {
    const error = thrown(() => authorizeRead(invalid, openReads));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(getHTTPStatusCodeFromError(error)).toBe(401);
    expect(error.message).toMatch(/Authorization: Bearer/);
  });

  it('needs a token when REQUIRE_AUTH_FOR_READS is set', () => {
    expect(thrown(() => authorizeRead(anonymous, closedReads)).code).toBe('UNAUTHORIZED');
    expect(thrown(() => authorizeRead(invalid, closedReads)).code).toBe('UNAUTHORIZED');
    expect(() => authorizeRead(reader, closedReads)).not.toThrow();
    expect(() => authorizeRead(admin, closedReads)).not.toThrow();
  });
});

describe('authorizeSensitiveRead', () => {
  it('always needs a valid token, of either role', () => {
    expect(thrown(() => authorizeSensitiveRead(anonymous)).code).toBe('UNAUTHORIZED');
    expect(thrown(() => authorizeSensitiveRead(invalid)).code).toBe('UNAUTHORIZED');
    expect(authorizeSensitiveRead(reader)).toEqual({ user: 'bob', role: 'read', tokenId: 'b2' });
    expect(authorizeSensitiveRead(admin)).toEqual({ user: 'alice', role: 'admin', tokenId: 'a1' });
  });
});

describe('authorizeWrite', () => {
  it('lets an admin token write, returning who it is', () => {
    expect(authorizeWrite(admin)).toEqual({ user: 'alice', role: 'admin', tokenId: 'a1' });
  });

  it('lets a developer token through (the services check its spec and the task)', () => {
    expect(authorizeWrite(developer)).toEqual({ user: 'dave', role: 'developer', tokenId: 'd4' });
  });

  it('answers 401 without a valid token', () => {
    for (const auth of [anonymous, invalid]) {
      const error = thrown(() => authorizeWrite(auth));
      expect(error.code).toBe('UNAUTHORIZED');
      expect(getHTTPStatusCodeFromError(error)).toBe(401);
    }
  });

  it('answers 403 to a read-only token, naming the user', () => {
    const error = thrown(() => authorizeWrite(reader));
    expect(error.code).toBe('FORBIDDEN');
    expect(getHTTPStatusCodeFromError(error)).toBe(403);
    expect(error.message).toBe("User 'bob' has a read-only token and cannot change the queue.");
  });
});
