// Where webhook requests may go. With WEBHOOK_ALLOW_PRIVATE off only public unicast addresses are
// allowed, checked on the addresses a name resolves to at connect time, so a DNS answer that
// changes between a check and the connection (rebinding) cannot slip through.
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export class PrivateTargetError extends Error {
  override name = 'PrivateTargetError';
  constructor(host: string, address: string) {
    super(
      `${host === address ? address : `${host} resolves to ${address}, which`} is a private, loopback or otherwise non-public address; set WEBHOOK_ALLOW_PRIVATE=true to allow it`,
    );
  }
}

/** True for public unicast addresses (IPv4-mapped IPv6 judged as the IPv4 address it holds). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** The host of a URL as an IP literal, or undefined when it is a name. */
function ipLiteral(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return net.isIP(host) ? host : undefined;
}

/** Throws PrivateTargetError when the URL's host is a non-public IP literal. */
export function checkLiteralTarget(url: URL): void {
  const literal = ipLiteral(url);
  if (literal !== undefined && !isPublicAddress(literal)) {
    throw new PrivateTargetError(literal, literal);
  }
}

/**
 * Throws PrivateTargetError when the URL's host is, or resolves to, a non-public address. A name
 * that does not resolve (yet) passes: the connect-time check still applies.
 */
export async function checkTarget(url: URL): Promise<void> {
  checkLiteralTarget(url);
  if (ipLiteral(url) !== undefined) return;
  let addresses: dns.LookupAddress[];
  try {
    addresses = await dns.promises.lookup(url.hostname, { all: true });
  } catch {
    return;
  }
  const refused = addresses.find((a) => !isPublicAddress(a.address));
  if (refused) throw new PrivateTargetError(url.hostname, refused.address);
}

/** A `lookup` for net.connect that refuses names resolving to any non-public address. */
export const publicOnlyLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, '', 0);
      return;
    }
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    const first = addresses[0];
    if (refused || !first) {
      callback(
        refused
          ? Object.assign(new PrivateTargetError(hostname, refused.address), { code: 'EPRIVATE' })
          : Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }),
        '',
        0,
      );
      return;
    }
    if (options.all)
      (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
    else callback(null, first.address, first.family);
  });
};
