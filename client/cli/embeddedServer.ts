// A throwaway queue node inside this process, for `demo` when no server is configured: in-memory
// database, a port of its own, a token of its own, warnings only in its log.
//
// The one place client code loads server code. It does so with dynamic import()s, so that only
// `demo` pays for Fastify, PGlite and pino, and the SDK (client/index.ts), which imports nothing
// but types from server/, never pulls the server in.
import { randomBytes } from 'node:crypto';

export interface EmbeddedServer {
  url: string;
  token: string;
  stop(): Promise<void>;
}

export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const [{ createQueueServer }, { loadConfig }, { pino }] = await Promise.all([
    import('../../server/app.js'),
    import('../../server/config.js'),
    import('pino'),
  ]);
  // A token of its own rather than the development token: nothing else can use this node.
  const token = randomBytes(18).toString('base64url');
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    API_TOKENS: `${token}:api-user`,
    SHUTDOWN_TIMEOUT: '5',
    LOG_LEVEL: 'warn',
    PATH: process.env.PATH,
  });
  const logger = pino({ level: 'warn' }, pino.destination({ dest: 2, sync: true }));
  const server = await createQueueServer({ config, logger });
  try {
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw error;
  }
  return { url: server.url, token, stop: () => server.stop() };
}
