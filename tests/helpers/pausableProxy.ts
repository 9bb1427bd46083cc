// A TCP proxy the test controls, between a node and PostgreSQL: `cut()` stops forwarding in both
// directions without closing anything (what a dropped network looks like to both ends: writes
// go nowhere, reads never answer), `heal()` forwards again, buffered bytes first.
import net from 'node:net';

export interface PausableProxy {
  /** The port to connect to instead of the target's. */
  port: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

interface Link {
  from: net.Socket;
  to: net.Socket;
  held: Buffer[];
}

export async function startPausableProxy(target: {
  host: string;
  port: number;
}): Promise<PausableProxy> {
  let cut = false;
  const links = new Set<Link>();
  const forward = (link: Link) => {
    for (const chunk of link.held.splice(0)) link.to.write(chunk);
    link.from.resume();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const both: Link[] = [
      { from: client, to: upstream, held: [] },
      { from: upstream, to: client, held: [] },
    ];
    for (const link of both) {
      links.add(link);
      link.from.on('data', (chunk: Buffer) => {
        if (cut) {
          link.held.push(chunk);
          link.from.pause();
        } else link.to.write(chunk);
      });
      link.from.on('error', () => undefined);
      link.from.on('close', () => {
        for (const l of both) {
          links.delete(l);
          l.from.destroy();
        }
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    cut() {
      cut = true;
      for (const link of links) link.from.pause();
    },
    heal() {
      cut = false;
      for (const link of links) forward(link);
    },
    async close() {
      for (const link of links) link.from.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
