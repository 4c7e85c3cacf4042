import { BlockList, isIP } from 'node:net';

/**
 * Which addresses the endpoint check may call. The check makes the server send a request to a
 * URL a client chose, so without this it is a port scanner for the server's own network: every
 * address that is not public unicast is refused (after DNS resolution, on every redirect hop)
 * unless `ARCP_ENDPOINT_ALLOW` names it.
 */
const BLOCKED_V4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT (also Alibaba's metadata 100.100.100.200)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata 169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

const BLOCKED_V6: ReadonlyArray<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (AWS metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const blocked = new BlockList();
for (const [net, prefix] of BLOCKED_V4) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of BLOCKED_V6) blocked.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
function embeddedV4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::|::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) {
    const high = parseInt(sixToFour[1]!, 16);
    const low = parseInt(sixToFour[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return undefined;
}

/** Whether `address` (a literal IPv4 or IPv6 address) is not public unicast. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: never call it
  if (family === 4) return blocked.check(address, 'ipv4');
  const v4 = embeddedV4(address);
  if (v4 !== undefined && isIP(v4) === 4) return blocked.check(v4, 'ipv4');
  // ::ffff:0:0/96 without a recognisable v4 part is refused whole.
  if (address.toLowerCase().startsWith('::ffff:')) return true;
  return blocked.check(address, 'ipv6');
}

/**
 * Cloud metadata services (AWS, GCP, Azure, OCI: 169.254.169.254; AWS IPv6 fd00:ec2::254; ECS
 * task metadata 169.254.170.2; Alibaba 100.100.100.200): they hand out credentials to whoever
 * asks from inside, so no allow-list entry may cover them.
 */
const METADATA_ADDRESSES = ['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254'];
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog']);

/** The server itself: loopback, and the unspecified addresses Linux connects to loopback. */
const SELF_ADDRESSES = ['127.0.0.1', '::1', '0.0.0.0', '::'];

/** Ranges inside which an entry is "loopback on its own", which a developer may mean. */
const loopbackOnly = new BlockList();
loopbackOnly.addSubnet('127.0.0.0', 8, 'ipv4');
loopbackOnly.addAddress('::1', 'ipv6');

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 4 ? 'ipv4' : 'ipv6';
}

/**
 * Refuses an entry that reopens what the policy closes: a range covering a metadata address
 * (`0.0.0.0/0`, `::/0`, `169.254.0.0/16`…), or one covering loopback together with other
 * addresses (`0.0.0.0/1`). Loopback alone (`127.0.0.1`, `127.0.0.0/8`, `::1`) stays allowed:
 * that is a deliberate choice for a local agent, not a range written too wide.
 */
function assertSafeRange(entry: string, address: string, prefix: number): void {
  const range = new BlockList();
  range.addSubnet(address, prefix, familyOf(address));
  const metadata = METADATA_ADDRESSES.find((a) => range.check(a, familyOf(a)));
  if (metadata !== undefined) {
    throw new Error(
      `ARCP_ENDPOINT_ALLOW: "${entry}" covers the cloud metadata address ${metadata}; list only the ranges your agents use`,
    );
  }
  const self = SELF_ADDRESSES.find((a) => range.check(a, familyOf(a)));
  const onlyLoopback =
    (isIP(address) === 4 && prefix >= 8 && loopbackOnly.check(address, 'ipv4')) ||
    (isIP(address) === 6 && prefix === 128 && loopbackOnly.check(address, 'ipv6'));
  if (self !== undefined && !onlyLoopback) {
    throw new Error(
      `ARCP_ENDPOINT_ALLOW: "${entry}" covers ${self} (this server) along with other addresses; list loopback on its own (127.0.0.1, ::1) if the check must call this host`,
    );
  }
}

/** `ARCP_ENDPOINT_ALLOW`: host names and CIDR ranges the check may call even if internal. */
export class EndpointAllowList {
  private readonly hosts = new Set<string>();
  private readonly ranges = new BlockList();

  /** @throws Error naming `ARCP_ENDPOINT_ALLOW` for an entry that is neither */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
      const address = cidr ? cidr[1]!.replace(/^\[|\]$/g, '') : entry.replace(/^\[|\]$/g, '');
      const family = isIP(address);
      if (family !== 0) {
        const prefix = cidr ? Number(cidr[2]) : family === 4 ? 32 : 128;
        if (prefix > (family === 4 ? 32 : 128)) {
          throw new Error(`ARCP_ENDPOINT_ALLOW: "${entry}" has a prefix longer than the address`);
        }
        assertSafeRange(entry, address, prefix);
        this.ranges.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      } else if (!cidr && /^[A-Za-z0-9.-]{1,253}$/.test(entry)) {
        if (METADATA_HOSTS.has(entry.toLowerCase().replace(/\.$/, ''))) {
          throw new Error(
            `ARCP_ENDPOINT_ALLOW: "${entry}" is a cloud metadata service; the check must never call it`,
          );
        }
        this.hosts.add(entry.toLowerCase());
      } else {
        throw new Error(`ARCP_ENDPOINT_ALLOW: "${entry}" is neither a host name nor a CIDR range`);
      }
    }
  }

  /** Whether the host name (as the URL has it) is listed by name. */
  allowsHost(hostname: string): boolean {
    return this.hosts.has(hostname.toLowerCase());
  }

  /** Whether the resolved address is inside a listed range. */
  allowsAddress(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
