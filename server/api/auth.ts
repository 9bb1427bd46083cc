// Bearer tokens: configured as `token:user[:role]` (API_TOKENS or API_TOKENS_FILE), kept in
// memory only as SHA-256 hashes, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ConfigError, isLoopback } from '../config.js';
import { ROLES, type Role } from '../../shared/api.js';
import type { Principal } from '../services/context.js';

export { isLoopback };

export const DEV_TOKEN = 'test-token';
export const DEV_USER = 'api-user';

interface TokenEntry {
  hash: Buffer;
  principal: Principal;
}

export type AuthResult =
  { kind: 'anonymous' } | { kind: 'invalid' } | { kind: 'authenticated'; principal: Principal };

export interface Authenticator {
  authenticate(authorizationHeader: string | undefined): AuthResult;
  /** True when only the development token is configured. */
  readonly devMode: boolean;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A token as configured: the secret and who it stands for. */
export interface ConfiguredToken {
  token: string;
  principal: Omit<Principal, 'tokenId'>;
}

export function parseTokenList(text: string, source: string): ConfiguredToken[] {
  const entries: ConfiguredToken[] = [];
  const items = text
    .split(/[,\n]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
  for (const item of items) {
    const [token, user, role = 'admin', ...rest] = item.split(':').map((part) => part.trim());
    if (!token || !user || rest.length > 0 || !(ROLES as readonly string[]).includes(role)) {
      throw new ConfigError(
        `${source}: each entry must be token:user or token:user:role (role ${ROLES.join(', ')}); one is not`,
      );
    }
    if (token.length < 8 && token !== DEV_TOKEN) {
      throw new ConfigError(`${source}: tokens must be at least 8 characters long`);
    }
    entries.push({ token, principal: { user, role: role as Role } });
  }
  return entries;
}

export function createAuthenticator(config: Config, logger: Logger): Authenticator {
  const entries: ConfiguredToken[] = [];
  if (config.auth.tokens) entries.push(...parseTokenList(config.auth.tokens, 'API_TOKENS'));
  if (config.auth.tokensFile) {
    let text: string;
    try {
      text = fs.readFileSync(config.auth.tokensFile, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `API_TOKENS_FILE ${config.auth.tokensFile} cannot be read: ${(error as Error).message}`,
      );
    }
    entries.push(...parseTokenList(text, 'API_TOKENS_FILE'));
  }
  let devMode = false;
  if (entries.length === 0) {
    if (!isLoopback(config.host)) {
      throw new ConfigError(
        `Refusing to listen on ${config.host} without API tokens: anyone who can reach it could run commands. ` +
          'Set API_TOKENS (token:user,…) or API_TOKENS_FILE, or listen on localhost.',
      );
    }
    devMode = true;
    entries.push({ token: DEV_TOKEN, principal: { user: DEV_USER, role: 'admin' } });
    logger.warn(
      `No API tokens configured: the development token '${DEV_TOKEN}' (user ${DEV_USER}) is enabled on loopback. Set API_TOKENS before exposing this server.`,
    );
  }
  const table: TokenEntry[] = entries.map((e) => {
    const hash = sha256(e.token);
    return { hash, principal: { ...e.principal, tokenId: hash.toString('hex').slice(0, 12) } };
  });
  entries.length = 0; // drop the plain tokens

  return {
    devMode,
    authenticate(header) {
      if (header === undefined || header === '') return { kind: 'anonymous' };
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match?.[1]) return { kind: 'invalid' };
      const presented = sha256(match[1]);
      // Compare against every entry, so the time taken does not tell which one matched.
      let found: Principal | undefined;
      for (const entry of table) {
        if (timingSafeEqual(entry.hash, presented) && !found) found = entry.principal;
      }
      return found ? { kind: 'authenticated', principal: found } : { kind: 'invalid' };
    },
  };
}
