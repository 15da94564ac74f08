// Real key material and X.509 output for @pulumi/tls resources under Pulumi's mock runtime,
// DER-encoded the way terraform-provider-tls (Go crypto/x509 and x/crypto/ssh) encodes it.
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, KeyObject, randomBytes, sign, verify } from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";
import * as ipaddr from "ipaddr.js";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function unwrapSecrets(x: any): any {
  if (Array.isArray(x)) return x.map(unwrapSecrets);
  if (x === null || typeof x !== "object" || Buffer.isBuffer(x)) return x;
  if (x[SECRET_SIG] === SECRET_VALUE) return unwrapSecrets(x.value);
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, unwrapSecrets(v)]));
}

// ---- DER ----
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const len: number[] = [];
  for (let n = body.length; n > 0; n = Math.floor(n / 256)) len.unshift(n % 256);
  return Buffer.concat([Buffer.from(body.length < 0x80 ? [tag, body.length] : [tag, 0x80 | len.length, ...len]), body]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const setOf = (...parts: Buffer[]) => tlv(0x31, ...[...parts].sort(Buffer.compare));
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const TRUE = tlv(0x01, Buffer.from([0xff]));
const EMPTY_NAME = seq();

function int(value: number | Buffer): Buffer {
  let b = Buffer.isBuffer(value) ? value : Buffer.from(value.toString(16).padStart(16, "0"), "hex");
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  return tlv(0x02, b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes = [40 * a + b];
  for (const n of rest) {
    const enc = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) enc.unshift(0x80 | (v & 0x7f));
    bytes.push(...enc);
  }
  return tlv(0x06, Buffer.from(bytes));
}

interface Tlv { tag: number; body: Buffer; raw: Buffer }

function readTlv(buf: Buffer, pos = 0): Tlv {
  const lenBytes = buf[pos + 1] & 0x80 ? buf[pos + 1] & 0x7f : 0;
  const start = pos + 2 + lenBytes;
  const len = lenBytes ? buf.subarray(pos + 2, start).reduce((acc, byte) => acc * 256 + byte, 0) : buf[pos + 1];
  return { tag: buf[pos], body: buf.subarray(start, start + len), raw: buf.subarray(pos, start + len) };
}

function children(buf: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = 0; pos < buf.length; pos += out[out.length - 1].raw.length) out.push(readTlv(buf, pos));
  return out;
}

const isOid = (t: Tlv, dotted: string) => t.raw.equals(oid(dotted));
const pem = (label: string, der: Buffer) =>
  `-----BEGIN ${label}-----\n${der.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;

function unpem(text: string, label: string): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([^-]*)-----END ${label}-----`).exec(String(text));
  if (!m) throw new Error(`failed to decode PEM of expected type "${label}"`);
  return Buffer.from(m[1].replace(/\s+/g, ""), "base64");
}

// ---- names: pkix.Name.ToRDNSequence order, PrintableString when possible, else UTF8String ----
const NAME_FIELDS: [field: string, oid: string][] = [
  ["country", "2.5.4.6"], ["province", "2.5.4.8"], ["locality", "2.5.4.7"], ["streetAddresses", "2.5.4.9"],
  ["postalCode", "2.5.4.17"], ["organization", "2.5.4.10"], ["organizationalUnit", "2.5.4.11"],
  ["commonName", "2.5.4.3"], ["serialNumber", "2.5.4.5"],
];
const SINGLE_VALUED = ["2.5.4.3", "2.5.4.5"];
const directoryString = (v: string) => tlv(/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(v) ? 0x13 : 0x0c, Buffer.from(v));

interface NameParts { values: Record<string, string[]>; extra: Buffer[] }

function subjectParts(subject: any): NameParts {
  const s = (Array.isArray(subject) ? subject[0] : subject) ?? {};
  const values: Record<string, string[]> = {};
  for (const [field, id] of NAME_FIELDS) {
    if (s[field] != null) values[id] = [s[field]].flat().map(String);
  }
  const extra = s.emailAddress != null ? [seq(oid("1.2.840.113549.1.9.1"), tlv(0x16, Buffer.from(String(s.emailAddress))))] : [];
  return { values, extra };
}

// Like Go's Name.FillFromRDNSequence: only the well-known attributes survive (emailAddress is dropped).
function parseName(der: Buffer): NameParts {
  const values: Record<string, string[]> = {};
  for (const atv of children(readTlv(der).body).flatMap((rdn) => children(rdn.body))) {
    const [type, value] = children(atv.body);
    const field = NAME_FIELDS.find(([, id]) => isOid(type, id));
    if (field) (values[field[1]] ??= []).push(value.body.toString(value.tag === 0x14 ? "latin1" : "utf8"));
  }
  return { values, extra: [] };
}

function encodeName({ values, extra }: NameParts): Buffer {
  const rdns: Buffer[] = [];
  for (const [, id] of NAME_FIELDS) {
    let vs = values[id] ?? [];
    if (SINGLE_VALUED.includes(id)) vs = vs.slice(-1).filter(Boolean);
    if (vs.length) rdns.push(setOf(...vs.map((v) => seq(oid(id), directoryString(v)))));
  }
  return seq(...rdns, ...extra.map((atv) => setOf(atv)));
}

// ---- keys and signatures ----
const EC_CURVES: Record<string, { name: string; ssh?: string; hash: string; sigOid: string }> = {
  secp224r1: { name: "P224", hash: "sha256", sigOid: "1.2.840.10045.4.3.2" },
  prime256v1: { name: "P256", ssh: "nistp256", hash: "sha256", sigOid: "1.2.840.10045.4.3.2" },
  secp384r1: { name: "P384", ssh: "nistp384", hash: "sha384", sigOid: "1.2.840.10045.4.3.3" },
  secp521r1: { name: "P521", ssh: "nistp521", hash: "sha512", sigOid: "1.2.840.10045.4.3.4" },
};
const SIG_HASHES: Record<string, string | null> = {
  "1.2.840.113549.1.1.5": "sha1", "1.2.840.113549.1.1.11": "sha256", "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512", "1.2.840.10045.4.3.2": "sha256", "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512", "1.3.101.112": null,
};

const curveOf = (key: KeyObject) => EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ""];

function signer(key: KeyObject): { algorithm: string; algId: Buffer; hash: string | null } {
  const curve = curveOf(key);
  if (key.asymmetricKeyType === "rsa") return { algorithm: "RSA", algId: seq(oid("1.2.840.113549.1.1.11"), tlv(0x05)), hash: "sha256" };
  if (key.asymmetricKeyType === "ed25519") return { algorithm: "ED25519", algId: seq(oid("1.3.101.112")), hash: null };
  if (key.asymmetricKeyType === "ec" && curve) return { algorithm: "ECDSA", algId: seq(oid(curve.sigOid)), hash: curve.hash };
  throw new Error(`unsupported private key type: ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ""}`);
}

function signed(tbs: Buffer, key: KeyObject): Buffer {
  const { algId, hash } = signer(key);
  return seq(tbs, algId, bitString(sign(hash, tbs, key)));
}

const spki = (key: KeyObject) => (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" });
const fromSpki = (der: Buffer) => createPublicKey({ key: der, format: "der", type: "spki" });

// The provider's generateSubjectKeyID: SHA-1 of the PKCS#1 key (RSA), the EC point, or asn1.Marshal(ed25519.PublicKey),
// which for Ed25519 is an OCTET STRING around the key rather than the bare key bits.
function subjectKeyId(pub: KeyObject): Buffer {
  const bits = children(readTlv(spki(pub)).body)[1].body.subarray(1);
  return createHash("sha1").update(pub.asymmetricKeyType === "ed25519" ? octets(bits) : bits).digest();
}

// ---- OpenSSH (x/crypto/ssh) ----
function sshString(b: Buffer | string): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(Buffer.byteLength(b));
  return Buffer.concat([len, Buffer.from(b)]);
}
function mpint(b: Buffer): Buffer {
  while (b.length && b[0] === 0) b = b.subarray(1);
  return sshString(b.length && b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

type SshKey = { type: string; pub: Buffer; priv: Buffer };

function sshKey(key: KeyObject): SshKey | undefined {
  if (key.asymmetricKeyType === "ec" && !curveOf(key)?.ssh) return undefined;
  const jwk = key.export({ format: "jwk" }) as Record<string, string>;
  const b = (k: string) => Buffer.from(jwk[k], "base64url");
  if (key.asymmetricKeyType === "rsa") {
    return { type: "ssh-rsa", pub: Buffer.concat([mpint(b("e")), mpint(b("n"))]), priv: Buffer.concat(["n", "e", "d", "qi", "p", "q"].map((k) => mpint(b(k)))) };
  }
  if (key.asymmetricKeyType === "ed25519") {
    return { type: "ssh-ed25519", pub: sshString(b("x")), priv: Buffer.concat([sshString(b("x")), sshString(Buffer.concat([b("d"), b("x")]))]) };
  }
  const curve = curveOf(key).ssh!;
  const point = Buffer.concat([Buffer.from([4]), b("x"), b("y")]);
  const pub = Buffer.concat([sshString(curve), sshString(point)]);
  return { type: `ecdsa-sha2-${curve}`, pub, priv: Buffer.concat([pub, mpint(b("d"))]) };
}

function opensshPrivateKey(k: SshKey, wire: Buffer): string {
  const check = randomBytes(4);
  const block = Buffer.concat([check, check, sshString(k.type), k.priv, sshString("")]);
  const padding = Buffer.from(Array.from({ length: (8 - (block.length % 8)) % 8 }, (_, i) => i + 1));
  return pem("OPENSSH PRIVATE KEY", Buffer.concat([
    Buffer.from("openssh-key-v1\0"), sshString("none"), sshString("none"), sshString(""),
    Buffer.from([0, 0, 0, 1]), sshString(wire), sshString(Buffer.concat([block, padding])),
  ]));
}

// ---- certificates: the provider's createCertificate + Go's x509.CreateCertificate ----
const KEY_USAGES: Record<string, number> = {
  digitalsignature: 0, contentcommitment: 1, keyencipherment: 2, dataencipherment: 3, keyagreement: 4,
  certsigning: 5, crlsigning: 6, encipheronly: 7, decipheronly: 8,
};
const EXT_KEY_USAGES: Record<string, string> = {
  anyextended: "2.5.29.37.0", serverauth: "1.3.6.1.5.5.7.3.1", clientauth: "1.3.6.1.5.5.7.3.2",
  codesigning: "1.3.6.1.5.5.7.3.3", emailprotection: "1.3.6.1.5.5.7.3.4", ipsecendsystem: "1.3.6.1.5.5.7.3.5",
  ipsectunnel: "1.3.6.1.5.5.7.3.6", ipsecuser: "1.3.6.1.5.5.7.3.7", timestamping: "1.3.6.1.5.5.7.3.8",
  ocspsigning: "1.3.6.1.5.5.7.3.9", microsoftservergatedcrypto: "1.3.6.1.4.1.311.10.3.3",
  netscapeservergatedcrypto: "2.16.840.1.113730.4.1", microsoftcommercialcodesigning: "1.3.6.1.4.1.311.2.1.22",
  microsoftkernelcodesigning: "1.3.6.1.4.1.311.61.1.1",
};
const OID_SAN = "2.5.29.17";
const OID_SKI = "2.5.29.14";
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

const flag = (v: unknown) => v === true || v === "true";
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [TRUE] : []), octets(value));

function keyUsage(bits: number[]): Buffer {
  const len = Math.max(...bits) + 1;
  const bytes = Buffer.alloc(Math.ceil(len / 8));
  for (const i of bits) bytes[i >> 3] |= 0x80 >> (i & 7);
  return tlv(0x03, Buffer.from([bytes.length * 8 - len]), bytes);
}

function ipBytes(s: string): Buffer {
  if (!isIP(s)) throw new Error(`Invalid IP address: Failed to parse "${s}"`);
  return Buffer.from(ipaddr.process(s).toByteArray());
}

const generalNames = (dns: string[], ips: Buffer[], uris: string[]) => [
  ...dns.map((d) => tlv(0x82, Buffer.from(d))), ...ips.map((ip) => tlv(0x87, ip)), ...uris.map((u) => tlv(0x86, Buffer.from(u))),
];
const V4_MAPPED = Buffer.from("00000000000000000000ffff", "hex");
const sansFromInputs = (inp: any) => generalNames(strings(inp.dnsNames), strings(inp.ipAddresses).map(ipBytes), strings(inp.uris));

function derTime(d: Date): Buffer {
  const s = d.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:T]/g, "");
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
}
const goTimeText = (d: Date) => d.toISOString().replace(/\.?0*Z$/, "Z");

interface CertTemplate { subject: Buffer; issuer: Buffer; publicKey: KeyObject; sans: Buffer[]; signingKey: KeyObject; parentKeyId?: Buffer }

function createCertificate(inp: any, t: CertTemplate, selfSigned: boolean) {
  const notBefore = new Date();
  const notAfter = new Date(notBefore.getTime() + Number(inp.validityPeriodHours ?? 0) * 3_600_000);
  const usageBits: number[] = [];
  const extUsages: string[] = [];
  for (const use of strings(inp.allowedUses)) {
    // The provider validates Terraform's snake_case names ("server_auth"); camelCase is rejected.
    const k = use.replace(/_/g, "");
    if (!/^[a-z_]+$/.test(use) || !(k in KEY_USAGES) && !(k in EXT_KEY_USAGES)) throw new Error(`allowed_uses: unsupported value "${use}"`);
    if (k in KEY_USAGES) usageBits.push(KEY_USAGES[k]);
    if (k in EXT_KEY_USAGES) extUsages.push(EXT_KEY_USAGES[k]);
  }
  const isCA = flag(inp.isCaCertificate);
  if (isCA && t.subject.equals(EMPTY_NAME)) {
    throw new Error("Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)");
  }
  const ski = isCA || flag(inp.setSubjectKeyId) ? subjectKeyId(t.publicKey) : undefined;
  const wantAki = selfSigned && flag(inp.setAuthorityKeyId);
  if (wantAki && !ski) throw new Error("Invalid Certificate Authority: Could not determine Authority Key Identifier");
  const aki = !t.issuer.equals(t.subject) && t.parentKeyId?.length ? t.parentKeyId : wantAki ? ski : undefined;
  const maxPathLen = Number(inp.maxPathLength ?? 0);

  const extensions = [
    ...(usageBits.length ? [extension("2.5.29.15", true, keyUsage(usageBits))] : []),
    ...(extUsages.length ? [extension("2.5.29.37", false, seq(...extUsages.map(oid)))] : []),
    extension("2.5.29.19", true, seq(...(isCA ? [TRUE] : []), ...(maxPathLen > 0 ? [int(maxPathLen)] : []))),
    ...(ski ? [extension(OID_SKI, false, octets(ski))] : []),
    ...(aki ? [extension("2.5.29.35", false, seq(tlv(0x80, aki)))] : []),
    ...(t.sans.length ? [extension(OID_SAN, t.subject.equals(EMPTY_NAME), seq(...t.sans))] : []),
  ];
  const tbs = seq(
    tlv(0xa0, int(2)), int(randomBytes(16)), signer(t.signingKey).algId, t.issuer,
    seq(derTime(notBefore), derTime(notAfter)), t.subject, spki(t.publicKey), tlv(0xa3, seq(...extensions)),
  );
  const certPem = pem("CERTIFICATE", signed(tbs, t.signingKey));
  return { certPem, validityStartTime: goTimeText(notBefore), validityEndTime: goTimeText(notAfter), readyForRenewal: false };
}

function parseCertificateRequest(text: string) {
  const [info, algId, signature] = children(readTlv(unpem(text, "CERTIFICATE REQUEST")).body);
  const [, subject, keyInfo, attributes] = children(info.body);
  const publicKey = fromSpki(keyInfo.raw);
  const hash = Object.entries(SIG_HASHES).find(([id]) => isOid(children(algId.body)[0], id))?.[1];
  if (hash === undefined || !verify(hash, info.raw, publicKey, signature.body.subarray(1))) {
    throw new Error("Failed to parse certificate request PEM: x509: CSR signature verification failed");
  }
  const dns: string[] = [], ips: Buffer[] = [], uris: string[] = [];
  const requests = (attributes ? children(attributes.body) : []).map((attr) => children(attr.body)).filter(([type]) => isOid(type, OID_EXTENSION_REQUEST));
  for (const ext of requests.flatMap(([, values]) => children(values.body)).flatMap((exts) => children(exts.body))) {
    const parts = children(ext.body);
    if (!isOid(parts[0], OID_SAN)) continue;
    for (const name of children(readTlv(parts[parts.length - 1].body).body)) {
      if (name.tag === 0x82) dns.push(name.body.toString());
      if (name.tag === 0x87) ips.push(name.body.length === 16 && name.body.subarray(0, 12).equals(V4_MAPPED) ? name.body.subarray(12) : name.body);
      if (name.tag === 0x86) uris.push(name.body.toString());
    }
  }
  return { subject: encodeName(parseName(subject.raw)), publicKey, sans: generalNames(dns, ips, uris) };
}

function parseCertificate(text: string) {
  const [tbs] = children(readTlv(unpem(text, "CERTIFICATE")).body);
  const fields = children(tbs.body).filter((f) => f.tag !== 0xa0);
  const extensions = fields.find((f) => f.tag === 0xa3);
  const ski = (extensions ? children(readTlv(extensions.body).body) : []).map((e) => children(e.body)).find(([id]) => isOid(id, OID_SKI));
  return { subject: fields[4].raw, publicKey: fromSpki(fields[5].raw), subjectKeyId: ski && readTlv(ski[ski.length - 1].body).body };
}

// ---- resources ----
const generate = promisify(generateKeyPair);

async function privateKey(raw: Record<string, any>) {
  const inp = unwrapSecrets(raw);
  const algorithm = String(inp.algorithm);
  const rsaBits = Number(inp.rsaBits ?? 2048);
  const ecdsaCurve = String(inp.ecdsaCurve ?? "P224");
  const namedCurve = Object.keys(EC_CURVES).find((c) => EC_CURVES[c].name === ecdsaCurve);
  let key: KeyObject;
  if (algorithm === "RSA") key = (await generate("rsa", { modulusLength: rsaBits })).privateKey;
  else if (algorithm === "ED25519") key = (await generate("ed25519", undefined)).privateKey;
  else if (algorithm === "ECDSA" && namedCurve) key = (await generate("ec", { namedCurve })).privateKey;
  else if (algorithm === "ECDSA") throw new Error(`invalid ECDSA curve "${ecdsaCurve}"; supported values are: P224, P256, P384, P521`);
  else throw new Error(`Invalid Key Algorithm: Key Algorithm "${algorithm}" is not supported`);

  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  const ssh = sshKey(key);
  const wire = ssh ? Buffer.concat([sshString(ssh.type), ssh.pub]) : Buffer.alloc(0);
  return {
    ...raw, algorithm, rsaBits, ecdsaCurve,
    privateKeyPem: algorithm === "RSA" ? pem("RSA PRIVATE KEY", key.export({ type: "pkcs1", format: "der" }))
      : algorithm === "ECDSA" ? pem("EC PRIVATE KEY", key.export({ type: "sec1", format: "der" })) : pem("PRIVATE KEY", pkcs8),
    privateKeyPemPkcs8: pem("PRIVATE KEY", pkcs8),
    privateKeyOpenssh: ssh ? opensshPrivateKey(ssh, wire) : "",
    publicKeyPem: pem("PUBLIC KEY", spki(key)),
    publicKeyOpenssh: ssh ? `${ssh.type} ${wire.toString("base64")}\n` : "",
    publicKeyFingerprintMd5: ssh ? createHash("md5").update(wire).digest("hex").match(/../g)!.join(":") : "",
    publicKeyFingerprintSha256: ssh ? `SHA256:${createHash("sha256").update(wire).digest("base64").replace(/=+$/, "")}` : "",
  };
}

const CERT_DEFAULTS = { isCaCertificate: false, setSubjectKeyId: false, earlyRenewalHours: 0 };

async function selfSignedCert(raw: Record<string, any>) {
  const inp = unwrapSecrets(raw);
  const key = createPrivateKey(inp.privateKeyPem);
  const subject = encodeName(subjectParts(inp.subject));
  const cert = createCertificate(inp, { subject, issuer: subject, publicKey: createPublicKey(key), sans: sansFromInputs(inp), signingKey: key }, true);
  return { ...CERT_DEFAULTS, setAuthorityKeyId: false, ...raw, keyAlgorithm: signer(key).algorithm, ...cert };
}

async function certRequest(raw: Record<string, any>) {
  const inp = unwrapSecrets(raw);
  const key = createPrivateKey(inp.privateKeyPem);
  const sans = sansFromInputs(inp);
  const attributes = sans.length ? [seq(oid(OID_EXTENSION_REQUEST), setOf(seq(extension(OID_SAN, false, seq(...sans)))))] : [];
  const info = seq(int(0), encodeName(subjectParts(inp.subject)), spki(key), tlv(0xa0, ...attributes));
  return { ...raw, keyAlgorithm: signer(key).algorithm, certRequestPem: pem("CERTIFICATE REQUEST", signed(info, key)) };
}

async function locallySignedCert(raw: Record<string, any>) {
  const inp = unwrapSecrets(raw);
  const csr = parseCertificateRequest(inp.certRequestPem);
  const caKey = createPrivateKey(inp.caPrivateKeyPem);
  const ca = parseCertificate(inp.caCertPem);
  if (!spki(caKey).equals(spki(ca.publicKey))) throw new Error("Failed to create certificate: x509: provided PrivateKey doesn't match parent's PublicKey");
  const cert = createCertificate(inp, { ...csr, issuer: ca.subject, signingKey: caKey, parentKeyId: ca.subjectKeyId }, false);
  return { ...CERT_DEFAULTS, ...raw, caKeyAlgorithm: signer(caKey).algorithm, ...cert };
}

const RESOURCES: Record<string, (inputs: Record<string, any>) => Promise<Record<string, any>>> = {
  "tls:index/privateKey:PrivateKey": privateKey,
  "tls:index/selfSignedCert:SelfSignedCert": selfSignedCert,
  "tls:index/certRequest:CertRequest": certRequest,
  "tls:index/locallySignedCert:LocallySignedCert": locallySignedCert,
};

export async function mockTlsResource(type: string, inputs: Record<string, any>): Promise<Record<string, any> | undefined> {
  return RESOURCES[type]?.(inputs);
}
