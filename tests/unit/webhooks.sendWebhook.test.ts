// One webhook request against a local receiver: signed as standardwebhooks expects, no redirect
// followed, a timeout, and loopback refused at connect time when private targets are not allowed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createWebhookAgent, sendWebhook } from '../../server/webhooks/sendWebhook.js';
import { generateWebhookSecret } from '../../server/webhooks/signWebhook.js';
import { isPublicAddress } from '../../server/webhooks/targetPolicy.js';

let server: http.Server;
let base: string;
const seen: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ path: request.url ?? '', headers: request.headers, body });
      if (request.url === '/redirect') {
        response.writeHead(307, { location: '/ok' }).end();
      } else if (request.url === '/slow') {
        setTimeout(() => response.end(), 2_000).unref();
      } else {
        response.writeHead(200).end('thanks');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const open = { allowPrivate: true, timeoutMs: 500 };
const secret = generateWebhookSecret();
const message = (url: string) => ({
  url,
  secret,
  messageId: 'msg_1',
  body: '{"type":"task.completed"}',
});

describe('sendWebhook', () => {
  it('signs the request so standardwebhooks verifies it', async () => {
    const agent = createWebhookAgent(open);
    const result = await sendWebhook(agent, message(`${base}/ok`), open);
    await agent.close();
    expect(result).toMatchObject({ ok: true, statusCode: 200, error: null });
    const request = seen.at(-1)!;
    expect(request.headers['content-type']).toBe('application/json');
    expect(
      new Webhook(secret).verify(request.body, request.headers as Record<string, string>),
    ).toEqual({ type: 'task.completed' });
  });

  it('does not follow redirects and times out', async () => {
    const agent = createWebhookAgent(open);
    const before = seen.length;
    const redirected = await sendWebhook(agent, message(`${base}/redirect`), open);
    expect(redirected).toMatchObject({ ok: false, statusCode: 307 });
    expect(seen.slice(before).map((r) => r.path)).toEqual(['/redirect']);
    const slow = await sendWebhook(agent, message(`${base}/slow`), open);
    expect(slow).toMatchObject({ ok: false, statusCode: null, error: 'timed out' });
    expect(slow.durationMs).toBeLessThan(1_500);
    await agent.close();
  });

  it('refuses loopback by literal and by name when private targets are not allowed', async () => {
    const strict = { allowPrivate: false, timeoutMs: 500 };
    const agent = createWebhookAgent(strict);
    const before = seen.length;
    const literal = await sendWebhook(agent, message(`${base}/ok`), strict);
    const named = await sendWebhook(
      agent,
      message(`${base.replace('127.0.0.1', 'localhost')}/ok`),
      strict,
    );
    await agent.close();
    expect(literal).toMatchObject({ ok: false, statusCode: null });
    expect(literal.error).toContain('WEBHOOK_ALLOW_PRIVATE');
    expect(named.error).toMatch(/localhost resolves to .*WEBHOOK_ALLOW_PRIVATE/);
    expect(seen.length).toBe(before);
  });
});

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.0.0.1', false],
    ['172.16.5.4', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fd00::1', false],
    ['fe80::1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['not-an-ip', false],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});
