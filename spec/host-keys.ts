import { createHash, createHmac } from "node:crypto";

/** The key types OpenSSH writes in authorized_keys and known_hosts. */
export const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"] as const;

/**
 * The order a Go SSH client (golang.org/x/crypto/ssh, which @pulumi/command's provider uses) asks
 * for host key algorithms when none are configured: ECDSA before RSA before Ed25519. Of the keys a
 * host offers, the provider is shown the first of these, so that is the key to pin.
 */
export const PROVIDER_HOST_KEY_ORDER = ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "ssh-ed25519", "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com"] as const;

/**
 * Whether these credentials' key is read from the host by a recording step: a fingerprint, or
 * trustOnFirstUse without a hostKey (key lines are pinned as given).
 */
export function isRecorded(c: { hostKey?: string; trustOnFirstUse?: boolean }): boolean {
    if (c.hostKey === undefined) return c.trustOnFirstUse === true;
    return "fingerprint" in (parseHostKey(c.hostKey).pin ?? {});
}

/** One public host key: its type and its base64 blob. */
export interface HostPublicKey {
    type: string;
    blob: string;
    /** The known_hosts host patterns it came with, if any. */
    patterns?: string[];
}

/** What `ssh.hostKey` says: keys to pin, or a SHA256 fingerprint the key recorded on the first run must have. */
export type HostKeyPin = { keys: HostPublicKey[] } | { fingerprint: string };

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/** `SHA256:<base64, no padding>`, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(key: HostPublicKey): string {
    return `SHA256:${createHash("sha256").update(Buffer.from(key.blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

/** "<type> <blob>", the form @pulumi/command's hostKey takes (authorized_keys). */
export function authorizedKeyLine(key: HostPublicKey): string {
    return `${key.type} ${key.blob}`;
}

/** The key of `keys` the provider will be shown (PROVIDER_HOST_KEY_ORDER). */
export function keyToPin(keys: HostPublicKey[]): HostPublicKey | undefined {
    const rank = (k: HostPublicKey) => {
        const i = (PROVIDER_HOST_KEY_ORDER as readonly string[]).indexOf(k.type);
        return i < 0 ? PROVIDER_HOST_KEY_ORDER.length : i;
    };
    return [...keys].sort((a, b) => rank(a) - rank(b))[0];
}

/** A key blob's own type name (its first field), when the blob is well-formed base64. */
function blobType(blob: string): string | undefined {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return undefined;
    const bytes = Buffer.from(blob, "base64");
    if (bytes.length < 5) return undefined;
    const n = bytes.readUInt32BE(0);
    return n > 0 && n < 64 && bytes.length >= 4 + n ? bytes.subarray(4, 4 + n).toString("latin1") : undefined;
}

/** Why one line is not a host key (undefined when it is), and the key. */
function parseLine(line: string): { key?: HostPublicKey; problem?: string } {
    const words = line.trim().split(/\s+/);
    const at = words.findIndex(w => (HOST_KEY_TYPES as readonly string[]).includes(w));
    if (at < 0) return { problem: "no key type" };
    if (at > 1 || (at === 1 && words[0].startsWith("@"))) return { problem: "more than host patterns before the key type (markers such as @cert-authority are not supported)" };
    const type = words[at];
    const blob = words[at + 1] ?? "";
    if (blobType(blob) !== type) return { problem: `the base64 after "${type}" is not a ${type} key` };
    return { key: { type, blob, patterns: at === 1 ? words[0].split(",") : undefined } };
}

/**
 * Reads `ssh.hostKey`: a SHA256 fingerprint, or one or more lines (newline-separated) each an
 * authorized_keys line ("<type> <base64> [comment]") or a known_hosts line ("<hosts> <type>
 * <base64>", as `ssh-keyscan` prints it). Comment lines (#) and blank lines are skipped.
 */
export function parseHostKey(value: string): { pin?: HostKeyPin; problem?: string } {
    const text = value.trim();
    if (text.startsWith("SHA256:")) return FINGERPRINT.test(text) ? { pin: { fingerprint: text.replace(/=$/, "") } } : { problem: "a SHA256 fingerprint is \"SHA256:\" and 43 base64 characters" };
    const keys: HostPublicKey[] = [];
    const lines = text.split("\n").map(l => l.trim()).filter(l => l !== "" && !l.startsWith("#"));
    for (const [i, line] of lines.entries()) {
        const r = parseLine(line);
        if (r.problem) return { problem: lines.length > 1 ? `line ${i + 1}: ${r.problem}` : r.problem };
        keys.push(r.key!);
    }
    if (keys.length === 0) return { problem: "no key" };
    return { pin: { keys } };
}

/** Whether a known_hosts pattern names this address and port ("host", "[host]:port", "*" wildcards, hashed "|1|salt|hash" names). */
export function patternMatches(pattern: string, host: string, port: number): boolean {
    if (pattern.startsWith("!")) return false;
    const hashed = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(pattern);
    if (hashed) {
        // ssh-keygen -H: HMAC-SHA1 of the name as it would be written ("host", or "[host]:port" off port 22), keyed by the salt.
        const name = port === 22 ? host : `[${host}]:${port}`;
        return createHmac("sha1", Buffer.from(hashed[1], "base64")).update(name).digest("base64") === hashed[2];
    }
    const m = /^\[(.+)\]:(\d+)$/.exec(pattern);
    const name = m ? m[1] : pattern;
    const patternPort = m ? Number(m[2]) : 22;
    if (patternPort !== port) return false;
    const re = new RegExp(`^${name.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
    return re.test(host);
}

/** The host keys the recording step printed (ssh-keyscan's lines, or the host's ssh_host_*_key.pub files). */
export function parseRecordedKeys(stdout: string): HostPublicKey[] {
    return stdout.split("\n").map(l => parseLine(l).key).filter((k): k is HostPublicKey => k !== undefined).map(k => ({ type: k.type, blob: k.blob }));
}

/**
 * The lines of a known_hosts text (say `ssh-keyscan -p 22 10.0.10.11 10.0.10.12 …` for every host,
 * kept in one stack config value) that are for `host` at `port`: a host's ssh.hostKey. Throws
 * naming the host when there is none.
 */
export function knownHostsFor(knownHosts: string, host: string, port = 22): string {
    const lines = knownHosts.split("\n").map(l => l.trim()).filter(l => l !== "" && !l.startsWith("#"));
    const mine = lines.filter(l => {
        const key = parseLine(l).key;
        return key?.patterns !== undefined && key.patterns.some(p => patternMatches(p, host, port));
    });
    const where = port === 22 ? host : `[${host}]:${port}`;
    if (mine.length === 0) throw new Error(`knownHosts: no line for ${where} (of ${lines.length}); add what \`ssh-keyscan -p ${port} ${host}\` prints, once you checked it against the host's console`);
    return mine.join("\n");
}
