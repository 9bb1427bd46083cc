// parseTokenList and isLoopback: how API_TOKENS / API_TOKENS_FILE are read, and which hosts
// count as loopback (where the development token may be used).
import { describe, expect, it } from 'vitest';
import { DEV_TOKEN, isLoopback, parseTokenList } from '../../server/api/auth.js';
import { ConfigError } from '../../server/config.js';

function parseError(text: string): ConfigError {
  try {
    parseTokenList(text, 'API_TOKENS');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('parseTokenList', () => {
  it('reads token:user as an admin', () => {
    expect(parseTokenList('s3cret-token:alice', 'API_TOKENS')).toEqual([
      { token: 's3cret-token', principal: { user: 'alice', role: 'admin' } },
    ]);
  });

  it('reads token:user:role', () => {
    expect(
      parseTokenList(
        'reader-token:bob:read,admin-token:carol:admin,developer-token:dave:developer',
        'API_TOKENS',
      ),
    ).toEqual([
      { token: 'reader-token', principal: { user: 'bob', role: 'read' } },
      { token: 'admin-token', principal: { user: 'carol', role: 'admin' } },
      { token: 'developer-token', principal: { user: 'dave', role: 'developer' } },
    ]);
  });

  it('trims spaces around entries and parts', () => {
    expect(parseTokenList('  tok-aaaa1 : alice ,  tok-bbbb2:bob : read  ', 'API_TOKENS')).toEqual([
      { token: 'tok-aaaa1', principal: { user: 'alice', role: 'admin' } },
      { token: 'tok-bbbb2', principal: { user: 'bob', role: 'read' } },
    ]);
  });

  it('reads the file format: one per line, comments, blank lines, CRLF', () => {
    const file = [
      '# queue tokens',
      '',
      'token-for-alice:alice   # the admin',
      '   ',
      'token-for-bob:bob:read\r',
      '#token-disabled:mallory',
      '',
    ].join('\n');
    expect(parseTokenList(file, 'API_TOKENS_FILE')).toEqual([
      { token: 'token-for-alice', principal: { user: 'alice', role: 'admin' } },
      { token: 'token-for-bob', principal: { user: 'bob', role: 'read' } },
    ]);
  });

  it('gives nothing for an empty list or only comments', () => {
    expect(parseTokenList('', 'API_TOKENS')).toEqual([]);
    expect(parseTokenList('# nothing yet\n\n', 'API_TOKENS_FILE')).toEqual([]);
    expect(parseTokenList(' , ,', 'API_TOKENS')).toEqual([]);
  });

  it('accepts 8 characters, and the development token', () => {
    expect(parseTokenList('12345678:alice', 'API_TOKENS')).toHaveLength(1);
    expect(parseTokenList(`${DEV_TOKEN}:dev`, 'API_TOKENS')).toHaveLength(1);
  });

  it.each([
    ['a token alone', 'just-a-token-value'],
    ['no user', 'some-long-token:'],
    ['no token', ':alice'],
    ['an unknown role', 'some-long-token:alice:owner'],
    ['too many parts', 'some-long-token:alice:read:extra'],
    ['a bad entry among good ones', 'good-token-1:alice,bad-token-value,good-token-2:bob'],
  ])('refuses %s, naming the source', (_what, text) => {
    const error = parseError(text);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toMatch(/^API_TOKENS: each entry must be token:user/);
  });

  it('refuses tokens shorter than 8 characters', () => {
    expect(parseError('1234567:alice').message).toBe(
      'API_TOKENS: tokens must be at least 8 characters long',
    );
  });

  it('never repeats a token in its error', () => {
    for (const text of ['leaky-token-value', 'leaky-token-value:alice:boss', 'leaky:alice']) {
      expect(parseError(text).message).not.toContain('leaky');
    }
  });

  it('names the file when the file is at fault', () => {
    expect(() => parseTokenList('nonsense', 'API_TOKENS_FILE')).toThrow(/^API_TOKENS_FILE: /);
  });
});

describe('isLoopback', () => {
  it.each(['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1'])(
    '%s is loopback',
    (host) => {
      expect(isLoopback(host)).toBe(true);
    },
  );

  it.each([
    '0.0.0.0',
    '::',
    '',
    '10.0.0.5',
    '192.168.1.10',
    'example.com',
    'localhost.example.com',
    '127.0.0.1.example.com',
    '128.0.0.1',
  ])('%j is not loopback', (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});
