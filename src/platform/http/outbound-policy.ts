import { BlockList, isIP } from 'node:net';

/**
 * Where the bridge may send requests (back-channel logout, JWKS of apps, IdP metadata). Decided on the
 * resolved IP address, never on the name. Three classes of address:
 *  - never reachable, whatever the operator sets: unspecified, link-local (169.254/16 with the cloud
 *    metadata service 169.254.169.254, fe80::/10), multicast, broadcast and reserved ranges;
 *  - non-public (loopback, RFC 1918, CGNAT, unique-local, documentation and benchmarking ranges):
 *    reachable only when inside one of the operator's allowed CIDRs (OUTBOUND_ALLOW_CIDRS);
 *  - public: reachable.
 * The operator's denied CIDRs (OUTBOUND_DENY_CIDRS) win over everything but the first class.
 */
export interface OutboundPolicyOptions {
  allowCidrs: readonly string[];
  denyCidrs: readonly string[];
}

export type PolicyVerdict =
  | { allowed: true }
  | { allowed: false; reason: 'never_reachable' | 'denied_by_operator' | 'non_public_not_allowed' };

const NEVER_V4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", incl. 0.0.0.0
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. 255.255.255.255
];
const NEVER_V6: Array<[string, number]> = [
  ['::', 128], // unspecified
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
  ['fd00:ec2::', 32], // AWS IMDS over IPv6 (fd00:ec2::254), inside fc00::/7
];
const NON_PUBLIC_V4: Array<[string, number]> = [
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
];
const NON_PUBLIC_V6: Array<[string, number]> = [
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
];

function blockList(v4: Array<[string, number]>, v6: Array<[string, number]>): BlockList {
  const list = new BlockList();
  for (const [net, prefix] of v4) list.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of v6) list.addSubnet(net, prefix, 'ipv6');
  return list;
}

const NEVER = blockList(NEVER_V4, NEVER_V6);
const NON_PUBLIC = blockList(NON_PUBLIC_V4, NON_PUBLIC_V6);

/** Parses "10.0.0.0/8" or "10.1.2.3" (a single address); undefined when it is neither. */
export function parseCidr(raw: string): { net: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [addr, bits, extra] = raw.trim().split('/');
  if (extra !== undefined || !addr) return undefined;
  const version = isIP(addr);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return undefined;
  return { net: addr, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function operatorList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of cidrs) {
    const cidr = parseCidr(raw);
    if (!cidr) throw new Error(`"${raw}" is not a CIDR (e.g. 10.0.0.0/8) or an IP address`);
    list.addSubnet(cidr.net, cidr.prefix, cidr.family);
  }
  return list;
}

/** The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64 well-known prefix, 6to4), if any. */
export function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower) ?? /^64:ff9b::(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1];
  const words = expandIpv6(lower);
  if (!words) return undefined;
  const fromWords = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  // ::ffff:a.b.c.d written in hex, 64:ff9b::/96, 2002:AABB:CCDD::/48
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return fromWords(words[6], words[7]);
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0))
    return fromWords(words[6], words[7]);
  if (words[0] === 0x2002) return fromWords(words[1], words[2]);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address. */
type Ipv6Words = [number, number, number, number, number, number, number, number];

function isIpv6Words(words: number[]): words is Ipv6Words {
  return words.length === 8;
}

function expandIpv6(address: string): Ipv6Words | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address;
  const v4 = /\d+\.\d+\.\d+\.\d+$/.exec(text);
  if (v4) {
    const [dotted] = v4;
    // The pattern has exactly four octets (isIP checked their range).
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    text = `${text.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  const words = [...left, ...fill, ...right].map((w) => parseInt(w, 16));
  return isIpv6Words(words) ? words : undefined;
}

export class OutboundPolicy {
  private readonly allow: BlockList;
  private readonly deny: BlockList;

  constructor(readonly options: OutboundPolicyOptions) {
    this.allow = operatorList(options.allowCidrs);
    this.deny = operatorList(options.denyCidrs);
  }

  /** Whether the bridge may connect to this IP address. */
  check(address: string): PolicyVerdict {
    const version = isIP(address);
    if (version === 0) return { allowed: false, reason: 'never_reachable' };
    if (version === 6) {
      const v4 = embeddedIpv4(address);
      // An IPv6 form of an IPv4 address gets the IPv4 address's verdict.
      if (v4 !== undefined) return this.check(v4);
    }
    const family = version === 4 ? 'ipv4' : 'ipv6';
    if (NEVER.check(address, family)) return { allowed: false, reason: 'never_reachable' };
    if (this.deny.check(address, family)) return { allowed: false, reason: 'denied_by_operator' };
    if (this.allow.check(address, family)) return { allowed: true };
    if (NON_PUBLIC.check(address, family)) return { allowed: false, reason: 'non_public_not_allowed' };
    return { allowed: true };
  }

  /** Whether the address is public (not in any special-use range), whatever the operator allows. */
  static isPublic(address: string): boolean {
    const version = isIP(address);
    if (version === 0) return false;
    const v4 = version === 6 ? embeddedIpv4(address) : undefined;
    if (v4 !== undefined) return OutboundPolicy.isPublic(v4);
    const family = version === 4 ? 'ipv4' : 'ipv6';
    return !NEVER.check(address, family) && !NON_PUBLIC.check(address, family);
  }
}
