// The SDK's transport sends each request on a pool per origin: splitUrl tells the origin and the
// path apart, by a regular expression for plain URLs and by URL for the rest.
import { describe, expect, it } from 'vitest';
import { splitUrl } from '../../client/src/transport.js';

describe('splitUrl', () => {
  it.each([
    ['http://127.0.0.1:8081/trpc/enqueueSpec', 'http://127.0.0.1:8081', '/trpc/enqueueSpec'],
    [
      'http://localhost:8081/trpc/task?input=%7B%22taskId%22%3A%22t%22%7D',
      'http://localhost:8081',
      '/trpc/task?input=%7B%22taskId%22%3A%22t%22%7D',
    ],
    ['https://queue.example.com', 'https://queue.example.com', '/'],
    ['https://queue.example.com?x=1', 'https://queue.example.com', '/?x=1'],
    ['http://[::1]:8081/api/specs#part', 'http://[::1]:8081', '/api/specs'],
    ['HTTP://Queue.Example.com/a', 'HTTP://Queue.Example.com', '/a'],
  ])('%s', (url, origin, path) => {
    expect(splitUrl(url)).toEqual({ origin, path });
  });

  it('leaves URLs with credentials to the URL parser', () => {
    expect(splitUrl('http://user:secret@queue.example.com:8081/trpc/x?y=1')).toEqual({
      origin: 'http://queue.example.com:8081',
      path: '/trpc/x?y=1',
    });
  });

  it('refuses what is not a URL', () => {
    expect(() => splitUrl('queue.example.com/trpc')).toThrow();
  });
});
