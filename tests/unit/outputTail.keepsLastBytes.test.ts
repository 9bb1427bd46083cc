// OutputTail: a step's output costs bounded memory; the end (where the error usually is) is kept.
import { describe, expect, it } from 'vitest';
import { OutputTail } from '../../server/workflow/outputTail.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('OutputTail', () => {
  it('keeps everything while under the limit', () => {
    const tail = new OutputTail(100);
    tail.push(bytes('hello '));
    tail.push(bytes('world\n'));
    expect(tail.text()).toBe('hello world\n');
    expect(tail.total).toBe(12);
    expect(tail.truncated).toBe(false);
  });

  it('keeps exactly the limit without counting it as truncated', () => {
    const tail = new OutputTail(10);
    tail.push(bytes('0123456789'));
    expect(tail.text()).toBe('0123456789');
    expect(tail.truncated).toBe(false);
  });

  it('keeps the last bytes of one large chunk', () => {
    const tail = new OutputTail(4);
    tail.push(bytes('abcdefgh'));
    expect(tail.text()).toBe('efgh');
    expect(tail.total).toBe(8);
    expect(tail.truncated).toBe(true);
  });

  it('keeps the last N bytes across many chunks, splitting a chunk where needed', () => {
    const tail = new OutputTail(10);
    let all = '';
    for (let i = 0; i < 1_000; i++) {
      const chunk = `${i},`;
      all += chunk;
      tail.push(bytes(chunk));
    }
    expect(tail.text()).toBe(all.slice(-10));
    expect(tail.total).toBe(Buffer.byteLength(all));
    expect(tail.truncated).toBe(true);
  });

  it('counts every byte in total, kept or not', () => {
    const tail = new OutputTail(1_024);
    for (let i = 0; i < 200; i++) tail.push(Buffer.alloc(1_024, 'x'));
    expect(tail.total).toBe(200 * 1_024);
    expect(tail.text()).toHaveLength(1_024);
  });

  it('ignores empty chunks', () => {
    const tail = new OutputTail(3);
    tail.push(Buffer.alloc(0));
    tail.push(bytes('abc'));
    tail.push(Buffer.alloc(0));
    expect(tail.text()).toBe('abc');
    expect(tail.truncated).toBe(false);
  });

  it('does not change a chunk the caller still holds', () => {
    const chunk = bytes('abcdef');
    const tail = new OutputTail(2);
    tail.push(chunk);
    expect(chunk.toString()).toBe('abcdef');
    expect(tail.text()).toBe('ef');
  });

  describe('multi-byte characters', () => {
    it('drops a character cut in half at the start', () => {
      const tail = new OutputTail(5);
      tail.push(bytes('ééé')); // 6 bytes: the first é loses its first byte
      expect(tail.text()).toBe('éé');
    });

    it.each([1, 2, 3])('drops a 4-byte character cut to its last %i bytes', (left) => {
      const tail = new OutputTail(left + 2);
      tail.push(bytes('a🚀ok'));
      expect(tail.text()).toBe('ok');
    });

    it('keeps a character split across two chunks', () => {
      const rocket = bytes('🚀');
      const tail = new OutputTail(100);
      tail.push(Buffer.concat([bytes('go '), rocket.subarray(0, 2)]));
      tail.push(Buffer.concat([rocket.subarray(2), bytes('!')]));
      expect(tail.text()).toBe('go 🚀!');
    });

    it('keeps a replacement character the step really printed when nothing was cut', () => {
      const tail = new OutputTail(100);
      tail.push(bytes('\uFFFDstart'));
      expect(tail.text()).toBe('\uFFFDstart');
    });
  });

  describe('lastLine', () => {
    it('is the last non-empty line, trimmed', () => {
      const tail = new OutputTail(100);
      tail.push(bytes('first\nsecond line  \n\n  \n'));
      expect(tail.lastLine()).toBe('second line');
    });

    it('is the line being written when there is no newline yet', () => {
      const tail = new OutputTail(100);
      tail.push(bytes('a\nb\npartial'));
      expect(tail.lastLine()).toBe('partial');
    });

    it('handles CRLF', () => {
      const tail = new OutputTail(100);
      tail.push(bytes('one\r\ntwo\r\n'));
      expect(tail.lastLine()).toBe('two');
    });

    it('is empty with no output', () => {
      expect(new OutputTail(100).lastLine()).toBe('');
    });

    it('comes from the kept bytes only', () => {
      const tail = new OutputTail(8);
      tail.push(bytes('error: disk full\nok\n'));
      expect(tail.lastLine()).toBe('ok');
    });
  });
});
