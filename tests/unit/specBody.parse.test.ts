// specBody.ts, before validation: a request body becomes text, then a plain mapping, or a 400
// that says what is wrong with it. Hostile bodies (alias bombs, prototype keys, deep nesting)
// are refused quickly.
import { describe, expect, it } from 'vitest';
import { decodeBody, parseSpecText } from '../../server/api/specBody.js';
import { problemsOf } from '../../server/errors.js';
import { moduleUrl, runNodeScript } from './support/nodeScript.js';
import { refusal } from './support/refusal.js';

const specBodyModule = moduleUrl('server/api/specBody.ts');

const specYaml = `apiVersion: score.dev/v1b1
metadata:
  name: my-app
containers:
  web:
    image: nginx
workflow:
  steps:
    - name: hello
      type: bash
      config:
        command: echo hello
`;

const specObject = {
  apiVersion: 'score.dev/v1b1',
  metadata: { name: 'my-app' },
  containers: { web: { image: 'nginx' } },
  workflow: { steps: [{ name: 'hello', type: 'bash', config: { command: 'echo hello' } }] },
};

describe('decodeBody', () => {
  it('decodes UTF-8 text', () => {
    expect(decodeBody(Buffer.from('name: café ✓', 'utf8'))).toBe('name: café ✓');
  });

  it('drops a leading byte order mark, and only that one', () => {
    expect(decodeBody(Buffer.from('\ufeffname: x\ufeff', 'utf8'))).toBe('name: x\ufeff');
    expect(decodeBody(Buffer.from('\ufeff\ufeffa', 'utf8'))).toBe('\ufeffa');
  });

  it('refuses an empty body', () => {
    const error = refusal(() => decodeBody(Buffer.alloc(0)));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/empty/);
  });

  it.each([
    ['a lone continuation byte', [0x61, 0x80, 0x62]],
    ['a truncated sequence', [0x61, 0xc3]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['Latin-1 text', [...Buffer.from('caf', 'latin1'), 0xe9]],
  ])('refuses invalid UTF-8: %s', (_what, bytes) => {
    const error = refusal(() => decodeBody(Buffer.from(bytes)));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/UTF-8/);
  });
});

describe('parseSpecText', () => {
  it('parses a YAML spec and the same spec as JSON to the same value', () => {
    expect(parseSpecText(specYaml, 'yaml')).toEqual(specObject);
    expect(parseSpecText(JSON.stringify(specObject), 'json')).toEqual(specObject);
  });

  it('accepts JSON sent as YAML (YAML is a superset)', () => {
    expect(parseSpecText(JSON.stringify(specObject), 'yaml')).toEqual(specObject);
  });

  it('says a JSON body is not valid JSON', () => {
    const error = refusal(() => parseSpecText('{"apiVersion": ', 'json'));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/^The request body is not valid JSON: /);
  });

  it('says a YAML body is not valid YAML, with the line', () => {
    const error = refusal(() => parseSpecText('metadata:\n  name: [a, b\n', 'yaml'));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/^The request body is not valid YAML: .*line \d+/);
    expect(error.message).not.toContain('\n');
  });

  it('refuses duplicate YAML keys instead of letting the last one win', () => {
    const error = refusal(() => parseSpecText('a: 1\na: 2\n', 'yaml'));
    expect(error.message).toMatch(/not valid YAML: duplicated mapping key at line 2, column 1/);
  });

  it('refuses several YAML documents in one body', () => {
    const error = refusal(() => parseSpecText(`${specYaml}---\n${specYaml}`, 'yaml'));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/not valid YAML: .*multiple documents/);
  });

  it('refuses a YAML alias bomb ("billion laughs") quickly', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 1; level < 9; level++) {
      const previous = String.fromCharCode(96 + level);
      const current = String.fromCharCode(97 + level);
      lines.push(`${current}: &${current} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const started = performance.now();
    const error = refusal(() => parseSpecText(`${lines.join('\n')}\n`, 'yaml'));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/not valid YAML: its aliases expand to more than 10000 values/);
  });

  it('still allows a few aliases, as ordinary YAML uses them', () => {
    const text = 'base: &img nginx\ncontainers:\n  a: { image: *img }\n  b: { image: *img }\n';
    expect(parseSpecText(text, 'yaml')).toEqual({
      base: 'nginx',
      containers: { a: { image: 'nginx' }, b: { image: 'nginx' } },
    });
  });

  it('does not apply YAML merge keys (<< stays a plain key)', () => {
    expect(parseSpecText('b: &b {x: 1}\na:\n  <<: *b\n', 'yaml')).toEqual({
      b: { x: 1 },
      a: { '<<': { x: 1 } },
    });
  });

  describe('prototype keys', () => {
    it.each([
      ['__proto__ at the top', '{"__proto__": {"polluted": true}}', '__proto__', '__proto__'],
      ['__proto__ nested', '{"a": {"b": {"__proto__": 1}}}', '__proto__', 'a.b.__proto__'],
      ['__proto__ in a list', '{"a": [{"__proto__": 1}]}', '__proto__', 'a.0.__proto__'],
      ['constructor', '{"metadata": {"constructor": {}}}', 'constructor', 'metadata.constructor'],
      ['prototype', '{"containers": {"prototype": 1}}', 'prototype', 'containers.prototype'],
    ])('refuses %s in JSON', (_what, text, key, at) => {
      const error = refusal(() => parseSpecText(text, 'json'));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toBe(`The spec may not use the key '${key}' (at ${at}).`);
    });

    it.each([
      ['__proto__ at the top', '__proto__:\n  polluted: true\n', '__proto__'],
      ['__proto__ quoted', '"__proto__": 1\n', '__proto__'],
      ['__proto__ in flow style', 'a: {__proto__: {polluted: true}}\n', 'a.__proto__'],
      ['__proto__ in a list', 'a:\n  - b: 1\n    __proto__: 1\n', 'a.0.__proto__'],
      ['constructor', 'metadata:\n  constructor:\n    prototype: 1\n', 'metadata.constructor'],
      ['prototype', 'x:\n  y:\n    prototype: {}\n', 'x.y.prototype'],
    ])('refuses %s in YAML', (_what, text, at) => {
      const error = refusal(() => parseSpecText(text, 'yaml'));
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain(`(at ${at})`);
    });

    it('leaves Object.prototype untouched', () => {
      for (const [text, format] of [
        ['{"__proto__": {"polluted": true}}', 'json'],
        ['__proto__: {polluted: true}\n', 'yaml'],
      ] as const) {
        refusal(() => parseSpecText(text, format));
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('allows those words as values and inside longer keys', () => {
      expect(
        parseSpecText('{"a": "__proto__", "constructors": 1, "my_prototype": 2}', 'json'),
      ).toEqual({ a: '__proto__', constructors: 1, my_prototype: 2 });
    });
  });

  it.each(['json', 'yaml'] as const)('refuses a raw NUL character in %s', (format) => {
    const text = format === 'json' ? '{"a": "x\u0000y"}' : 'a: "x\u0000y"\n';
    const error = refusal(() => parseSpecText(text, format));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/NUL/);
  });

  // Regression (fixed): only a raw NUL in the text is refused. A NUL written as an escape (JSON "\u0000",
  // YAML "\0") passes parsing and validation, then PostgreSQL refuses the jsonb insert
  // ("unsupported Unicode escape sequence"), so the client gets a 500 instead of a 400.
  it.each([
    ['json', '{"a": "x\\u0000y"}'],
    ['yaml', 'a: "x\\0y"\n'],
  ] as const)('refuses a NUL written as an escape in %s', (format, text) => {
    const error = refusal(() => parseSpecText(text, format));
    expect(error.code).toBe('BAD_REQUEST');
  });

  // YAML streams may not hold U+FFFE or U+FFFF as they are (their double-quoted escapes are fine);
  // JSON may.
  it('refuses a raw U+FFFE in YAML with its place, and reads it escaped or in JSON', () => {
    const error = refusal(() => parseSpecText('a: x\uFFFEy\n', 'yaml'));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/non-printable characters at line 1/);
    expect(parseSpecText('a: "x\\uFFFEy"\n', 'yaml')).toEqual({ a: 'x\uFFFEy' });
    expect(parseSpecText('{"a": "x\uFFFEy"}', 'json')).toEqual({ a: 'x\uFFFEy' });
  });

  describe('nesting', () => {
    const nestedJson = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const nestedYaml = (levels: number) => `a: ${'['.repeat(levels)}1${']'.repeat(levels)}\n`;

    it('accepts 64 levels nested below the top mapping', () => {
      expect(parseSpecText(nestedJson(65), 'json')).toBeTypeOf('object');
      expect(parseSpecText(nestedYaml(64), 'yaml')).toBeTypeOf('object');
    });

    it('refuses 65 levels', () => {
      for (const error of [
        refusal(() => parseSpecText(nestedJson(66), 'json')),
        refusal(() => parseSpecText(nestedYaml(65), 'yaml')),
      ]) {
        expect(error.code).toBe('BAD_REQUEST');
        expect(error.message).toBe('The spec is nested more than 64 levels deep.');
      }
    });

    it('refuses extreme JSON nesting quickly', () => {
      const started = performance.now();
      const error = refusal(() => parseSpecText(nestedJson(100_000), 'json'));
      expect(error.message).toBe('The spec is nested more than 64 levels deep.');
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    // Regression (fixed): the YAML parser recurses once per nesting level, and the depth is checked only after
    // it returns. Past ~800 levels it overflows the stack; the RangeError is caught, but after a
    // few such bodies V8 overflows while compiling one of the parser's regular expressions and
    // aborts the whole process ("FATAL ERROR: RegExpCompiler Allocation failed - process out of
    // memory"), which no catch can stop: a handful of 2-40 KB requests kill the server. Run in
    // a child process so the crash cannot take this test worker with it.
    it('survives repeated deeply nested YAML bodies', async () => {
      const script = `
        const { parseSpecText } = await import(process.argv[1]);
        const codes = new Set();
        for (let i = 0; i < 30; i++) {
          const n = [1_000, 5_000, 20_000][i % 3];
          try {
            parseSpecText('a: ' + '['.repeat(n) + '1' + ']'.repeat(n) + '\\n', 'yaml');
            codes.add('accepted');
          } catch (error) {
            codes.add(error.code);
          }
        }
        console.log(JSON.stringify([...codes]));
      `;
      const child = await runNodeScript(script, specBodyModule);
      expect(child.stderr).not.toMatch(/FATAL ERROR/);
      expect(child).toMatchObject({ exitCode: 0, signal: null });
      expect(JSON.parse(child.stdout)).toEqual(['BAD_REQUEST']);
    });
  });

  it.each([
    ['a YAML scalar', 'hello\n', 'yaml'],
    ['a YAML list', '- apiVersion: score.dev/v1b1\n', 'yaml'],
    ['an empty YAML document', '# only a comment\n', 'yaml'],
    ['YAML null', 'null\n', 'yaml'],
    ['a JSON number', '42', 'json'],
    ['a JSON string', '"spec"', 'json'],
    ['a JSON array', '[{}]', 'json'],
    ['JSON null', 'null', 'json'],
  ] as const)('refuses %s as the body', (_what, text, format) => {
    const error = refusal(() => parseSpecText(text, format));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/^The request body must be a Score spec: a mapping/);
    expect(problemsOf(error)).toBeUndefined();
  });
});
