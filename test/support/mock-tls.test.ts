import { spawnSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mockTlsResource, unwrapSecrets } from "./mock-tls";
import { pemBegins } from "./openssl";

const SIG = "4dabf18193072939515e22adb298388d";
const secret = (value: unknown) => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value });

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "mock-tls-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

function run(cmd: string, ...args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw r.error;
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}
const openssl = (...args: string[]) => run("/usr/bin/openssl", ...args);
const x509 = (cert: string, ...args: string[]) => openssl("x509", "-in", cert, "-noout", ...args).out;
const ext = (cert: string, name: string) => x509(cert, "-ext", name).trim();
const hasSshKeygen = spawnSync("ssh-keygen", ["-?"]).error === undefined;

async function resource(type: string, inputs: Record<string, any>): Promise<Record<string, any>> {
  const out = await mockTlsResource(`tls:index/${type}`, inputs);
  if (!out) throw new Error(`no mock for ${type}`);
  return out;
}

const caSubject = {
  commonName: "kubernetes-ca", organization: "Example Inc", organizationalUnit: "Platform", country: "US",
  province: "California", locality: "San Francisco", postalCode: "94105", streetAddresses: ["1 Main St"], serialNumber: "7",
};

async function pki(name: string, key: Record<string, any>, caExtra: Record<string, any> = {}) {
  const caKey = await resource("privateKey:PrivateKey", key);
  const ca = await resource("selfSignedCert:SelfSignedCert", {
    privateKeyPem: secret(caKey.privateKeyPem), subject: caSubject, isCaCertificate: true, validityPeriodHours: 87600,
    allowedUses: ["cert_signing", "crl_signing", "digital_signature"], ...caExtra,
  });
  const leafKey = await resource("privateKey:PrivateKey", key);
  const csr = await resource("certRequest:CertRequest", {
    privateKeyPem: secret(leafKey.privateKeyPem), subject: { commonName: "kube-apiserver", organization: "system:masters" },
    dnsNames: ["kubernetes", "kubernetes.default.svc"], ipAddresses: ["10.96.0.1", "fd00:10:96::1"], uris: ["spiffe://cluster.local/apiserver"],
  });
  const leaf = await resource("locallySignedCert:LocallySignedCert", {
    certRequestPem: csr.certRequestPem, caCertPem: ca.certPem, caPrivateKeyPem: secret(caKey.privateKeyPem),
    allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"], validityPeriodHours: 24,
  });
  return {
    caKey, ca, leafKey, csr, leaf,
    caPem: file(`${name}-ca.pem`, ca.certPem), caKeyPem: file(`${name}-ca.key`, caKey.privateKeyPem),
    leafPem: file(`${name}-leaf.pem`, leaf.certPem), leafKeyPem: file(`${name}-leaf.key`, leafKey.privateKeyPem),
    csrPem: file(`${name}-leaf.csr`, csr.certRequestPem),
  };
}

type Pki = Awaited<ReturnType<typeof pki>>;
let rsa: Pki;
let ec: Pki;
beforeAll(async () => {
  rsa = await pki("rsa", { algorithm: "RSA" });
  ec = await pki("ec", { algorithm: "ECDSA", ecdsaCurve: "P256" }, { setAuthorityKeyId: true });
});

const SANS = "DNS:kubernetes, DNS:kubernetes.default.svc, IP Address:10.96.0.1, IP Address:FD00:10:96:0:0:0:0:1, URI:spiffe://cluster.local/apiserver";

describe.each([
  ["RSA", () => rsa, "sha256WithRSAEncryption", pemBegins("RSA PRIVATE KEY")],
  ["ECDSA P-256", () => ec, "ecdsa-with-SHA256", pemBegins("EC PRIVATE KEY")],
])("%s CA and leaf", (_name, get, sigAlg, keyHeader) => {
  it("verifies the leaf against its CA", () => {
    const p = get();
    expect(openssl("verify", "-CAfile", p.caPem, p.leafPem)).toEqual({ ok: true, out: `${p.leafPem}: OK\n` });
    expect(openssl("verify", "-CAfile", p.caPem, p.caPem).ok).toBe(true);
  });

  it("rejects the leaf against a different CA", () => {
    const other = get() === rsa ? ec : rsa;
    const r = openssl("verify", "-CAfile", other.caPem, get().leafPem);
    expect(r.ok).toBe(false);
    expect(r.out).toContain("unable to get local issuer certificate");
  });

  it("encodes the CA certificate like the provider", () => {
    const { caPem } = get();
    const name = "C = US, ST = California, L = San Francisco, street = 1 Main St, postalCode = 94105, O = Example Inc, OU = Platform, CN = kubernetes-ca, serialNumber = 7";
    expect(x509(caPem, "-subject", "-issuer")).toBe(`subject=${name}\nissuer=${name}\n`);
    expect(x509(caPem, "-text")).toContain(`Signature Algorithm: ${sigAlg}`);
    expect(ext(caPem, "keyUsage")).toBe("X509v3 Key Usage: critical\n    Digital Signature, Certificate Sign, CRL Sign");
    expect(ext(caPem, "basicConstraints")).toBe("X509v3 Basic Constraints: critical\n    CA:TRUE");
    expect(ext(caPem, "extendedKeyUsage")).toBe("No extensions in certificate");
    expect(ext(caPem, "subjectAltName")).toBe("No extensions in certificate");
  });

  it("sets the CA's subject key id the way openssl hashes the key, and the AKI only on request", () => {
    const p = get();
    const reference = file("reference.pem", openssl("req", "-x509", "-new", "-key", p.caKeyPem, "-subj", "/CN=ref", "-days", "1").out);
    const ski = ext(p.caPem, "subjectKeyIdentifier");
    expect(ski).toMatch(/^X509v3 Subject Key Identifier: \n {4}([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(ski).toBe(ext(reference, "subjectKeyIdentifier"));
    const keyId = ski.split("\n")[1];
    const aki = ext(p.caPem, "authorityKeyIdentifier");
    expect(aki).toBe(p === ec ? `X509v3 Authority Key Identifier: \n${keyId}` : "No extensions in certificate");
    expect(ext(p.leafPem, "authorityKeyIdentifier")).toBe(`X509v3 Authority Key Identifier: \n${keyId}`);
    expect(ext(p.leafPem, "subjectKeyIdentifier")).toBe("No extensions in certificate");
  });

  it("encodes the leaf certificate like the provider", () => {
    const { leafPem, caPem } = get();
    expect(x509(leafPem, "-subject", "-issuer")).toBe(`subject=O = system:masters, CN = kube-apiserver\n${x509(caPem, "-subject").replace("subject=", "issuer=")}`);
    expect(x509(leafPem, "-text")).toContain(`Signature Algorithm: ${sigAlg}`);
    expect(ext(leafPem, "keyUsage,extendedKeyUsage,basicConstraints,subjectAltName")).toBe([
      "X509v3 Key Usage: critical", "    Digital Signature, Key Encipherment",
      "X509v3 Extended Key Usage: ", "    TLS Web Server Authentication, TLS Web Client Authentication",
      "X509v3 Basic Constraints: critical", "    CA:FALSE",
      "X509v3 Subject Alternative Name: ", `    ${SANS}`,
    ].join("\n"));
    expect(x509(leafPem, "-text")).toMatch(/Version: 3 \(0x2\)\n\s+Serial Number:\n?\s+([0-9a-f]{2}:){8,16}[0-9a-f]{2}\n/);
  });

  it("makes the validity window validityPeriodHours long, starting at validityStartTime", () => {
    const p = get();
    for (const [pem, out, hours] of [[p.caPem, p.ca, 87600], [p.leafPem, p.leaf, 24]] as const) {
      const [start, end] = x509(pem, "-startdate", "-enddate").trim().split("\n").map((l) => Date.parse(l.split("=")[1]));
      expect(end - start).toBe(hours * 3_600_000);
      expect(start).toBe(Math.floor(Date.parse(out.validityStartTime) / 1000) * 1000);
      expect(Date.parse(out.validityEndTime) - Date.parse(out.validityStartTime)).toBe(hours * 3_600_000);
      expect(Math.abs(start - Date.now())).toBeLessThan(120_000);
      expect(out.validityStartTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      expect(out.readyForRenewal).toBe(false);
    }
  });

  it("pairs each private key with its certificate and public key outputs", () => {
    const p = get();
    for (const [keyPem, certPem, key] of [[p.caKeyPem, p.caPem, p.caKey], [p.leafKeyPem, p.leafPem, p.leafKey]] as const) {
      const fromKey = openssl("pkey", "-in", keyPem, "-pubout").out;
      expect(fromKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      expect(x509(certPem, "-pubkey")).toBe(fromKey);
      expect(key.publicKeyPem).toBe(fromKey);
      expect(key.privateKeyPem).toMatch(keyHeader);
      expect(key.privateKeyPem).toMatch(/\n-----END [A-Z ]+-----\n$/);
      expect(key.privateKeyPemPkcs8).toMatch(pemBegins("PRIVATE KEY"));
      expect(key.privateKeyPemPkcs8).toMatch(/\n-----END PRIVATE KEY-----\n$/);
      expect(openssl("pkey", "-in", file("pkcs8.key", key.privateKeyPemPkcs8), "-pubout").out).toBe(fromKey);
    }
  });

  it("produces a CSR openssl accepts, carrying the subject and SANs", () => {
    const { csrPem, csr, leafKeyPem } = get();
    const r = openssl("req", "-in", csrPem, "-noout", "-verify", "-text");
    expect(r.ok).toBe(true);
    expect(r.out).toContain("verify OK");
    expect(r.out).toContain("Subject: O = system:masters, CN = kube-apiserver\n");
    expect(r.out).toMatch(new RegExp(`Requested Extensions:\\n\\s+X509v3 Subject Alternative Name: \\n\\s+${SANS}\\n`));
    expect(csr.certRequestPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----\n$/);
    expect(openssl("req", "-in", csrPem, "-noout", "-pubkey").out).toBe(openssl("pkey", "-in", leafKeyPem, "-pubout").out);
  });
});

describe("mockTlsResource", () => {
  it("echoes inputs and fills in provider outputs", () => {
    expect(rsa.caKey).toMatchObject({ algorithm: "RSA", rsaBits: 2048, ecdsaCurve: "P224" });
    expect(rsa.ca).toMatchObject({ keyAlgorithm: "RSA", isCaCertificate: true, setSubjectKeyId: false, setAuthorityKeyId: false, earlyRenewalHours: 0 });
    expect(rsa.ca.privateKeyPem).toEqual(secret(rsa.caKey.privateKeyPem));
    expect(ec.leaf).toMatchObject({ caKeyAlgorithm: "ECDSA", isCaCertificate: false, validityPeriodHours: 24 });
    expect(ec.csr.keyAlgorithm).toBe("ECDSA");
  });

  it("returns undefined for other resource types", async () => {
    expect(await mockTlsResource("tls:index/provider:Provider", {})).toBeUndefined();
    expect(await mockTlsResource("kubernetes:core/v1:Secret", {})).toBeUndefined();
  });

  it("unwraps secrets recursively", () => {
    expect(unwrapSecrets({ a: secret({ b: [secret(1), "x"] }), c: [secret(true)], d: null })).toEqual({ a: { b: [1, "x"] }, c: [true], d: null });
  });

  it("refuses a CSR whose signature does not verify", async () => {
    const der = Buffer.from(rsa.csr.certRequestPem.replace(/-----[A-Z ]+-----|\n/g, ""), "base64");
    der[der.length - 10] ^= 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(resource("locallySignedCert:LocallySignedCert", {
      certRequestPem: tampered, caCertPem: rsa.ca.certPem, caPrivateKeyPem: rsa.caKey.privateKeyPem, allowedUses: [], validityPeriodHours: 1,
    })).rejects.toThrow(/signature/);
  });

  it("refuses a CA key that does not match the CA certificate", async () => {
    await expect(resource("locallySignedCert:LocallySignedCert", {
      certRequestPem: rsa.csr.certRequestPem, caCertPem: rsa.ca.certPem, caPrivateKeyPem: rsa.leafKey.privateKeyPem, allowedUses: [], validityPeriodHours: 1,
    })).rejects.toThrow(/doesn't match/);
  });

  it("handles Ed25519, P-384 and the default P-224 keys", async () => {
    const keyIdOf = (certPem: string) => ext(certPem, "subjectKeyIdentifier").split("\n")[1]?.trim();
    const cases = [
      { key: { algorithm: "ED25519" }, header: "PRIVATE KEY", sigAlg: "ED25519", ssh: /^ssh-ed25519 AAAA\S+\n$/ },
      { key: { algorithm: "ECDSA", ecdsaCurve: "P384" }, header: "EC PRIVATE KEY", sigAlg: "ecdsa-with-SHA384", ssh: /^ecdsa-sha2-nistp384 AAAA\S+\n$/ },
      { key: { algorithm: "ECDSA" }, header: "EC PRIVATE KEY", sigAlg: "ecdsa-with-SHA256", ssh: /^$/ },
    ];
    for (const { key, header, sigAlg, ssh } of cases) {
      const k = await resource("privateKey:PrivateKey", key);
      expect(k.privateKeyPem.startsWith(`-----BEGIN ${header}-----\n`)).toBe(true);
      expect(k.publicKeyOpenssh).toMatch(ssh);
      const cert = await resource("selfSignedCert:SelfSignedCert", {
        privateKeyPem: k.privateKeyPem, subject: { commonName: "self" }, dnsNames: ["self.example"], validityPeriodHours: 1,
        allowedUses: ["server_auth"], setSubjectKeyId: true,
      });
      const pem = file("self.pem", cert.certPem);
      expect(openssl("verify", "-partial_chain", "-CAfile", pem, pem).ok).toBe(true);
      expect(x509(pem, "-text")).toContain(`Signature Algorithm: ${sigAlg}`);
      expect(ext(pem, "basicConstraints,keyUsage")).toBe("X509v3 Basic Constraints: critical\n    CA:FALSE");
      expect(x509(pem, "-pubkey")).toBe(k.publicKeyPem);
      // The provider hashes asn1.Marshal(ed25519.PublicKey), an OCTET STRING, rather than the bare key bits.
      const rawEd25519 = key.algorithm === "ED25519" && Buffer.from(createPublicKey(k.publicKeyPem).export({ format: "jwk" }).x!, "base64url");
      const reference = file("ref.pem", openssl("req", "-x509", "-new", "-key", file("self.key", k.privateKeyPem), "-subj", "/CN=ref", "-days", "1").out);
      expect(keyIdOf(pem)).toBe(rawEd25519
        ? createHash("sha1").update(Buffer.concat([Buffer.from([4, 32]), rawEd25519])).digest("hex").toUpperCase().match(/../g)!.join(":")
        : keyIdOf(reference));
    }
  });

  (hasSshKeygen ? it : it.skip)("produces OpenSSH keys and fingerprints ssh-keygen agrees with", async () => {
    for (const key of [{ algorithm: "RSA" }, { algorithm: "ED25519" }, { algorithm: "ECDSA", ecdsaCurve: "P521" }]) {
      const k = await resource("privateKey:PrivateKey", key);
      expect(k.privateKeyOpenssh).toMatch(pemBegins("OPENSSH PRIVATE KEY"));
      expect(k.privateKeyOpenssh).toMatch(/\n-----END OPENSSH PRIVATE KEY-----\n$/);
      const priv = file("id_key", k.privateKeyOpenssh);
      expect(run("ssh-keygen", "-y", "-f", priv).out.trim()).toBe(k.publicKeyOpenssh.trim());
      const pub = file("id_key.pub", k.publicKeyOpenssh);
      expect(run("ssh-keygen", "-l", "-E", "md5", "-f", pub).out).toContain(`MD5:${k.publicKeyFingerprintMd5} `);
      expect(run("ssh-keygen", "-l", "-E", "sha256", "-f", pub).out).toContain(`${k.publicKeyFingerprintSha256} `);
    }
  });
});
