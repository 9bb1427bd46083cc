// createAuthenticator: bearer tokens to principals; the development token only on loopback,
// with a warning; never a token in the log.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEV_TOKEN, DEV_USER, createAuthenticator } from '../../server/api/auth.js';
import { ConfigError, loadConfig } from '../../server/config.js';
import { memoryLogger } from './support/memoryLogger.js';

const ADMIN_TOKEN = 'admin-token-4f9c2a';
const READ_TOKEN = 'read-token-8e1b7d';
const API_TOKENS = `${ADMIN_TOKEN}:alice,${READ_TOKEN}:bob:read`;

function configWith(env: Record<string, string>) {
  return loadConfig(env, { cwd: os.tmpdir() });
}

describe('with configured tokens', () => {
  const log = memoryLogger();
  const auth = createAuthenticator(configWith({ API_TOKENS, HOST: '0.0.0.0' }), log.logger);

  it('authenticates each token as its user and role', () => {
    expect(auth.authenticate(`Bearer ${ADMIN_TOKEN}`)).toMatchObject({
      kind: 'authenticated',
      principal: { user: 'alice', role: 'admin' },
    });
    expect(auth.authenticate(`Bearer ${READ_TOKEN}`)).toMatchObject({
      kind: 'authenticated',
      principal: { user: 'bob', role: 'read' },
    });
    expect(auth.devMode).toBe(false);
  });

  it('accepts any case of the scheme and extra spaces', () => {
    for (const header of [`bearer ${ADMIN_TOKEN}`, `BEARER   ${ADMIN_TOKEN}  `]) {
      expect(auth.authenticate(header)).toMatchObject({ kind: 'authenticated' });
    }
  });

  it('is anonymous without a header', () => {
    expect(auth.authenticate(undefined)).toEqual({ kind: 'anonymous' });
    expect(auth.authenticate('')).toEqual({ kind: 'anonymous' });
  });

  it.each([
    ['a wrong token', 'Bearer not-a-configured-token'],
    ['a prefix of a token', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
    ['a token with a suffix', `Bearer ${ADMIN_TOKEN}x`],
    ['the development token', `Bearer ${DEV_TOKEN}`],
    ['another scheme', `Basic ${Buffer.from(`alice:${ADMIN_TOKEN}`).toString('base64')}`],
    ['a bare token', ADMIN_TOKEN],
    ['a scheme without a token', 'Bearer'],
    ['two tokens', `Bearer ${ADMIN_TOKEN} ${READ_TOKEN}`],
    ['a token:user pair', `Bearer ${ADMIN_TOKEN}:alice`],
  ])('refuses %s', (_what, header) => {
    expect(auth.authenticate(header)).toEqual({ kind: 'invalid' });
  });

  it('logs nothing, and never a token', () => {
    expect(log.text()).toBe('');
  });
});

describe('API_TOKENS_FILE', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'queue-auth-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads the tokens from the file, together with API_TOKENS', async () => {
    const file = path.join(dir, 'tokens');
    await fs.writeFile(file, `# team tokens\nfile-token-1234:dave:read\n\nfile-token-5678:erin\n`);
    const log = memoryLogger();
    const auth = createAuthenticator(
      configWith({ API_TOKENS_FILE: file, API_TOKENS: `${ADMIN_TOKEN}:alice`, HOST: '0.0.0.0' }),
      log.logger,
    );
    expect(auth.authenticate('Bearer file-token-1234')).toMatchObject({
      kind: 'authenticated',
      principal: { user: 'dave', role: 'read' },
    });
    expect(auth.authenticate('Bearer file-token-5678')).toMatchObject({
      kind: 'authenticated',
      principal: { user: 'erin', role: 'admin' },
    });
    expect(auth.authenticate(`Bearer ${ADMIN_TOKEN}`)).toMatchObject({ kind: 'authenticated' });
    expect(log.text()).not.toContain('file-token');
  });

  it('refuses a file it cannot read, naming it', () => {
    const missing = path.join(dir, 'missing');
    expect(() =>
      createAuthenticator(configWith({ API_TOKENS_FILE: missing }), memoryLogger().logger),
    ).toThrow(ConfigError);
    expect(() =>
      createAuthenticator(configWith({ API_TOKENS_FILE: missing }), memoryLogger().logger),
    ).toThrow(missing);
  });

  it('refuses a file with a bad entry, without echoing it', async () => {
    const file = path.join(dir, 'tokens');
    await fs.writeFile(file, 'good-token-1234:alice\nsecret-but-malformed\n');
    const attempt = () =>
      createAuthenticator(configWith({ API_TOKENS_FILE: file }), memoryLogger().logger);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^API_TOKENS_FILE: /);
    expect(attempt).not.toThrow(/secret-but-malformed/);
  });

  it('counts a file of only comments as no tokens', async () => {
    const file = path.join(dir, 'tokens');
    await fs.writeFile(file, '# to be filled in\n');
    expect(() =>
      createAuthenticator(
        configWith({ API_TOKENS_FILE: file, HOST: '0.0.0.0' }),
        memoryLogger().logger,
      ),
    ).toThrow(ConfigError);
  });
});

describe('without tokens', () => {
  it.each(['localhost', '127.0.0.1', '::1'])(
    'on %s enables the development token, with a warning',
    (host) => {
      const log = memoryLogger();
      const auth = createAuthenticator(configWith({ HOST: host }), log.logger);
      expect(auth.devMode).toBe(true);
      expect(auth.authenticate(`Bearer ${DEV_TOKEN}`)).toMatchObject({
        kind: 'authenticated',
        principal: { user: DEV_USER, role: 'admin' },
      });
      expect(DEV_USER).toBe('api-user');
      expect(auth.authenticate('Bearer another-token')).toEqual({ kind: 'invalid' });

      const entries = log.entries();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ level: 40 });
      expect(entries[0]?.msg).toMatch(/No API tokens configured/);
      expect(entries[0]?.msg).toContain('API_TOKENS');
    },
  );

  it.each(['0.0.0.0', '::', '10.1.2.3', 'queue.example.com'])('on %s refuses to start', (host) => {
    const log = memoryLogger();
    expect(() => createAuthenticator(configWith({ HOST: host }), log.logger)).toThrow(ConfigError);
    expect(() => createAuthenticator(configWith({ HOST: host }), log.logger)).toThrow(
      /Refusing to listen .* without API tokens/,
    );
    expect(log.text()).toBe('');
  });

  it('a token list that is empty counts as none', () => {
    expect(() =>
      createAuthenticator(
        configWith({ API_TOKENS: ' , ', HOST: '0.0.0.0' }),
        memoryLogger().logger,
      ),
    ).toThrow(ConfigError);
  });
});
