import * as net from "node:net";
import * as ipaddr from "ipaddr.js";

export interface Cidr {
    text: string;
    kind: "ipv4" | "ipv6";
    prefix: number;
    /** Bytes of the network address (host bits cleared). */
    network: number[];
    /** Whether `text` had host bits set (e.g. "10.96.0.1/12"). */
    hostBitsSet: boolean;
}

const width = (kind: "ipv4" | "ipv6") => (kind === "ipv4" ? 32 : 128);

/** A strictly written IP address ("10.0.0.1", "fd00::1"); no shorthand forms like "10.1". */
export function isIp(text: string): boolean {
    return net.isIP(text) !== 0;
}

export function parseCidr(text: string): Cidr | undefined {
    const slash = text.indexOf("/");
    if (slash < 0 || !isIp(text.slice(0, slash)) || !/^\d{1,3}$/.test(text.slice(slash + 1))) return undefined;
    if (Number(text.slice(slash + 1)) > (net.isIPv4(text.slice(0, slash)) ? 32 : 128)) return undefined;
    const [addr, prefix] = ipaddr.parseCIDR(text);
    const kind = addr.kind();
    const bytes = addr.toByteArray();
    const network = bytes.map((b, i) => b & maskByte(prefix, i));
    return { text, kind, prefix, network, hostBitsSet: network.some((b, i) => b !== bytes[i]) };
}

function maskByte(prefix: number, index: number): number {
    const bits = Math.max(0, Math.min(8, prefix - index * 8));
    return (0xff << (8 - bits)) & 0xff;
}

export function cidrToString(c: Cidr): string {
    return `${ipaddr.fromByteArray(c.network).toString()}/${c.prefix}`;
}

export function hostBits(c: Cidr): number {
    return width(c.kind) - c.prefix;
}

export function cidrContains(c: Cidr, ip: string): boolean {
    if (!isIp(ip)) return false;
    const addr = ipaddr.process(ip);
    if (addr.kind() !== c.kind) return false;
    return addr.match(ipaddr.fromByteArray(c.network), c.prefix);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    if (a.kind !== b.kind) return false;
    const shorter = a.prefix <= b.prefix ? a : b;
    const longer = shorter === a ? b : a;
    return cidrContains(shorter, ipaddr.fromByteArray(longer.network).toString());
}

/** The n-th address of the network (n = 1 is the API server's service IP, n = 10 the DNS IP). */
export function nthAddress(c: Cidr, n: number): string {
    const bytes = [...c.network];
    let carry = n;
    for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
        const sum = bytes[i] + (carry & 0xff);
        bytes[i] = sum & 0xff;
        carry = (carry >>> 8) + (sum >> 8);
    }
    return ipaddr.fromByteArray(bytes).toString();
}

/** Splits kubeadm's comma-separated CIDR list ("10.96.0.0/12,fd00::/108"). */
export function splitList(text: string): string[] {
    return text.split(",").map(s => s.trim()).filter(s => s.length > 0);
}

/** Splits "host", "host:port", "[v6]:port" or a bare IPv6 address into host and optional port. */
export function splitHostPort(endpoint: string): { host: string; port?: string } {
    const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(endpoint);
    if (bracketed) return { host: bracketed[1], port: bracketed[2] };
    if (net.isIPv6(endpoint)) return { host: endpoint };
    const colon = endpoint.lastIndexOf(":");
    return colon < 0 ? { host: endpoint } : { host: endpoint.slice(0, colon), port: endpoint.slice(colon + 1) };
}

export function joinHostPort(host: string, port: number | string): string {
    return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const WILDCARD_DNS = new RegExp(`^\\*\\.${DNS_LABEL}(\\.${DNS_LABEL})*$`);

/** RFC 1123 subdomain, as Kubernetes validates node names and kubeadm validates DNS SANs. */
export function isDnsSubdomain(text: string): boolean {
    return text.length <= 253 && DNS_SUBDOMAIN.test(text) && !looksLikeIpv4(text);
}

/** "10.0.0.300" is a valid DNS name by the letter, but always a mistyped address. */
function looksLikeIpv4(text: string): boolean {
    return /^\d+(\.\d+){3}$/.test(text);
}

export function isWildcardDns(text: string): boolean {
    return text.length <= 253 && WILDCARD_DNS.test(text);
}
