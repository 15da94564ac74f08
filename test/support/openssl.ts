import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** What the real openssl CLI reads from a certificate. */
export interface CertFacts {
    subject: string;
    issuer: string;
    dnsNames: string[];
    ipAddresses: string[];
    keyUsage: string[];
    keyUsageCritical: boolean;
    extKeyUsage: string[];
    isCa: boolean;
    basicConstraintsCritical: boolean;
    hasSubjectKeyId: boolean;
    hasAuthorityKeyId: boolean;
    notBefore: Date;
    notAfter: Date;
    signatureAlgorithm: string;
    publicKeyAlgorithm: string;
}

export function tempDir(prefix = "kubeadm-test-"): { dir: string; remove: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function openssl(args: string[], input?: string): string {
    return execFileSync("openssl", args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

export function inspectCert(pem: string): CertFacts {
    const text = openssl(["x509", "-noout", "-text", "-nameopt", "RFC2253"], pem);
    const section = (name: string) => {
        const m = new RegExp(`X509v3 ${name}:( critical)?[ \\t]*\\n\\s*(.*)`).exec(text);
        return m ? { critical: !!m[1], value: m[2].trim() } : undefined;
    };
    const san = section("Subject Alternative Name")?.value ?? "";
    const entries = san ? san.split(", ") : [];
    const ku = section("Key Usage");
    const bc = section("Basic Constraints");
    return {
        subject: openssl(["x509", "-noout", "-subject", "-nameopt", "RFC2253"], pem).replace(/^subject=/, "").trim(),
        issuer: openssl(["x509", "-noout", "-issuer", "-nameopt", "RFC2253"], pem).replace(/^issuer=/, "").trim(),
        dnsNames: entries.filter(e => e.startsWith("DNS:")).map(e => e.slice(4)),
        ipAddresses: entries.filter(e => e.startsWith("IP Address:")).map(e => e.slice(11)),
        keyUsage: ku ? ku.value.split(", ") : [],
        keyUsageCritical: ku?.critical ?? false,
        extKeyUsage: section("Extended Key Usage")?.value.split(", ") ?? [],
        isCa: bc?.value.includes("CA:TRUE") ?? false,
        basicConstraintsCritical: bc?.critical ?? false,
        hasSubjectKeyId: text.includes("X509v3 Subject Key Identifier"),
        hasAuthorityKeyId: text.includes("X509v3 Authority Key Identifier"),
        notBefore: new Date(/Not Before: (.*)/.exec(text)![1]),
        notAfter: new Date(/Not After : (.*)/.exec(text)![1]),
        signatureAlgorithm: /Signature Algorithm: (.*)/.exec(text)![1].trim(),
        publicKeyAlgorithm: /Public Key Algorithm: (.*)/.exec(text)![1].trim(),
    };
}

/** `openssl verify` of a leaf against one CA; returns openssl's verdict line. */
export function verify(caPem: string, leafPem: string): { ok: boolean; output: string } {
    const t = tempDir();
    try {
        fs.writeFileSync(path.join(t.dir, "ca.crt"), caPem);
        fs.writeFileSync(path.join(t.dir, "leaf.crt"), leafPem);
        const output = execFileSync("openssl", ["verify", "-CAfile", "ca.crt", "leaf.crt"], { cwd: t.dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        return { ok: true, output };
    } catch (e: any) {
        return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    } finally {
        t.remove();
    }
}

/** The SubjectPublicKeyInfo of a certificate, as openssl prints it (PEM). */
export function certPublicKey(pem: string): string {
    return openssl(["x509", "-noout", "-pubkey"], pem);
}

/** The public key of a private key, as openssl derives it (PEM). */
export function privateKeyPublicKey(keyPem: string): string {
    return openssl(["pkey", "-pubout"], keyPem);
}

/** kubeadm's discovery hash computed the shell way: openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum. */
export function discoveryHashByShell(caPem: string): string {
    const t = tempDir();
    try {
        fs.writeFileSync(path.join(t.dir, "ca.crt"), caPem);
        const hex = execFileSync("bash", ["-c", "set -euo pipefail; openssl x509 -pubkey -noout -in ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1"], { cwd: t.dir, encoding: "utf8" }).trim();
        return `sha256:${hex}`;
    } finally {
        t.remove();
    }
}

export interface KeyPair { certPem: string; keyPem: string }

/** A CA made by openssl itself, as a user's own PKI would be. */
export function opensslCa(commonName: string): KeyPair {
    const t = tempDir();
    try {
        execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
            "-subj", `/CN=${commonName}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign"],
        { cwd: t.dir, stdio: "ignore" });
        return { certPem: fs.readFileSync(path.join(t.dir, "ca.crt"), "utf8"), keyPem: fs.readFileSync(path.join(t.dir, "ca.key"), "utf8") };
    } finally {
        t.remove();
    }
}

/** A leaf signed by `ca` with openssl (subject "/CN=.../O=..."; sans like "DNS:x,IP:1.2.3.4"). */
export function opensslLeaf(ca: KeyPair, subject: string, sans: string | undefined, eku: string): KeyPair {
    const t = tempDir();
    try {
        fs.writeFileSync(path.join(t.dir, "ca.crt"), ca.certPem);
        fs.writeFileSync(path.join(t.dir, "ca.key"), ca.keyPem, { mode: 0o600 });
        fs.writeFileSync(path.join(t.dir, "ext.cnf"), `keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=${eku}\n${sans ? `subjectAltName=${sans}\n` : ""}`);
        const run = (args: string[]) => execFileSync("openssl", args, { cwd: t.dir, stdio: "ignore" });
        run(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", subject]);
        run(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.crt", "-days", "365", "-extfile", "ext.cnf"]);
        return { certPem: fs.readFileSync(path.join(t.dir, "leaf.crt"), "utf8"), keyPem: fs.readFileSync(path.join(t.dir, "leaf.key"), "utf8") };
    } finally {
        t.remove();
    }
}

/** Matches a PEM that starts with this label's BEGIN line (built from parts, so no key-like text is committed). */
export function pemBegins(label: string): RegExp {
    return new RegExp(`^-----${"BEGIN"} ${label}-----\\n`);
}
