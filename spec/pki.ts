import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { CaName, certificateInventory, CertSpec, PER_NODE_CERTS, SIGNER_OF } from "../render/pki";
import { Problems } from "./problems";
import { isDnsSubdomain, isIp } from "./network";
import { CaInput, CertificatesSpec, NetworkingSpec, NodeAddress, PreSignedCert } from "./types";
import { checkCertificates, checkEndpoint, checkNetworking, checkSans, DEFAULTS } from "./validate";
import { checkUnknownFields, itemField } from "./unknown-fields";

export interface ClusterPkiArgs {
    /** The API server's stable address, "host" or "host:port"; its host goes into the apiserver certificate. */
    controlPlaneEndpoint: string;
    networking?: NetworkingSpec;
    /** Each control plane gets its own apiserver serving certificate. */
    controlPlanes: NodeAddress[];
    /** Each etcd member gets its own server and peer certificates. */
    etcdMembers?: NodeAddress[];
    /** Set when etcd is an existing cluster: then no etcd CA or etcd certificates are issued. */
    externalEtcd?: boolean;
    /**
     * Also issue the client certificates of each control plane's kubeconfigs (admin, super-admin on
     * the first, controller-manager, scheduler, kubelet), as kubeadm's kubeconfig phase does.
     */
    kubeconfigs?: boolean;
    /** Extra SANs for the apiserver certificate (kubeadm's apiServer.certSANs). */
    apiServerCertSANs?: string[];
    etcdServerCertSANs?: string[];
    etcdPeerCertSANs?: string[];
    certificates?: CertificatesSpec;
    /**
     * Any change of this value re-issues every leaf certificate this component signs, with the same
     * keys, as `kubeadm certs renew all` (CAs and the service-account key are never renewed). Cluster
     * sets it to the Kubernetes version, so an upgrade renews them, as kubeadm upgrade does. While
     * it is set, any pulumi up also renews them 30 days before they expire; unset, never.
     */
    renewal?: string;
}

export interface KeyAlgorithm {
    algorithm: string;
    rsaBits?: number;
    ecdsaCurve?: string;
}

export interface PkiPlan {
    certs: CertSpec[];
    key: KeyAlgorithm;
    caValidityHours: number;
    validityHours: number;
    certificatesDir: string;
    /** CAs supplied by the user, by name. */
    suppliedCas: Partial<Record<CaName, CaInput>>;
    /** Pre-signed leaves by "name" or "name/node". */
    preSigned: Map<string, PreSignedCert>;
    warnings: string[];
}

const KEY_ALGORITHMS: Record<string, KeyAlgorithm> = {
    "RSA-2048": { algorithm: "RSA", rsaBits: 2048 },
    "RSA-3072": { algorithm: "RSA", rsaBits: 3072 },
    "RSA-4096": { algorithm: "RSA", rsaBits: 4096 },
    "ECDSA-P256": { algorithm: "ECDSA", ecdsaCurve: "P256" },
    "ECDSA-P384": { algorithm: "ECDSA", ecdsaCurve: "P384" },
};

const CA_FIELDS: Record<CaName, "ca" | "frontProxyCa" | "etcdCa"> = { "ca": "ca", "front-proxy-ca": "frontProxyCa", "etcd-ca": "etcdCa" };

export const preSignedKey = (name: string, node?: string) => (node ? `${name}/${node}` : name);

/** Validates ClusterPki args (collecting every problem) and lays out kubeadm's certificate inventory. */
export function planPki(args: ClusterPkiArgs, p = new Problems()): PkiPlan {
    checkUnknownFields(p, args, "ClusterPki");
    const endpoint = checkEndpoint(p, args.controlPlaneEndpoint, "controlPlaneEndpoint", DEFAULTS.bindPort);
    const networking = checkNetworking(p, args.networking, "networking");
    checkNodes(p, args.controlPlanes, "controlPlanes");
    const externalEtcd = args.externalEtcd ?? false;
    if (!externalEtcd) checkNodes(p, args.etcdMembers, "etcdMembers");
    checkSans(p, args.apiServerCertSANs, "apiServerCertSANs");
    checkSans(p, args.etcdServerCertSANs, "etcdServerCertSANs");
    checkSans(p, args.etcdPeerCertSANs, "etcdPeerCertSANs");
    const c = args.certificates ?? {};
    checkCertificates(p, c, "certificates");

    const certs = networking && p.ok ? certificateInventory({
        controlPlaneEndpointHost: endpoint.host,
        apiServerServiceIp: networking.apiServerServiceIp,
        dnsDomain: networking.dnsDomain,
        controlPlanes: args.controlPlanes,
        etcdMembers: args.etcdMembers ?? [],
        externalEtcd,
        kubeconfigs: args.kubeconfigs ?? false,
        apiServerCertSANs: args.apiServerCertSANs ?? [],
        etcdServerCertSANs: args.etcdServerCertSANs ?? [],
        etcdPeerCertSANs: args.etcdPeerCertSANs ?? [],
    }) : [];

    const suppliedCas: Partial<Record<CaName, CaInput>> = {};
    for (const [ca, field] of Object.entries(CA_FIELDS) as [CaName, keyof typeof c][]) {
        const given = c[field] as CaInput | undefined;
        if (!given) continue;
        if (ca === "etcd-ca" && externalEtcd) p.add(`certificates.${field}`, "(set)", "no etcd CA with an external etcd cluster (its CA comes with etcd.external)");
        suppliedCas[ca] = given;
        checkSuppliedCa(p, given, `certificates.${field}`, ca);
    }
    const preSigned = checkPreSigned(p, c.preSigned ?? [], certs, suppliedCas);
    if (known(c.serviceAccountKey)) {
        try {
            createPrivateKey(c.serviceAccountKey);
        } catch {
            p.add("certificates.serviceAccountKey", "(unreadable)", "a PEM private key (RSA or ECDSA, as kubeadm's sa.key)");
        }
    }

    p.throwIfAny("ClusterPki args");
    return {
        certs,
        key: KEY_ALGORITHMS[c.encryptionAlgorithm ?? DEFAULTS.encryptionAlgorithm],
        caValidityHours: c.caValidityHours ?? DEFAULTS.caValidityHours,
        validityHours: c.validityHours ?? DEFAULTS.validityHours,
        certificatesDir: c.certificatesDir ?? DEFAULTS.certificatesDir,
        suppliedCas, preSigned, warnings: p.warnings,
    };
}

function checkNodes(p: Problems, nodes: NodeAddress[] | undefined, field: string): void {
    if (!Array.isArray(nodes) || nodes.length === 0) {
        p.add(field, nodes, "a list of at least one {name, address}");
        return;
    }
    const seen = new Set<string>();
    nodes.forEach((n, i) => {
        const f = itemField(field, i, n);
        if (!n || typeof n.name !== "string" || !isDnsSubdomain(n.name)) p.add(`${f}.name`, n?.name, "a lower-case RFC 1123 subdomain");
        else if (seen.has(n.name)) p.add(`${f}.name`, n.name, "a name no other entry has");
        else seen.add(n.name);
        if (typeof n?.address !== "string" || !isIp(n.address)) p.add(`${f}.address`, n?.address, "an IPv4 or IPv6 address");
    });
}

/** Checks a supplied CA when its PEMs are known now; Outputs are checked by the certificates that use them. */
function checkSuppliedCa(p: Problems, ca: CaInput, field: string, name: CaName): void {
    const cert = known(ca.certPem) ? parseCert(p, ca.certPem, `${field}.certPem`) : undefined;
    if (cert && !cert.ca) p.add(`${field}.certPem`, cert.subject, `a CA certificate (basicConstraints CA:TRUE) for ${name}`);
    if (cert && known(ca.keyPem)) {
        try {
            if (!cert.checkPrivateKey(createPrivateKey(ca.keyPem))) p.add(`${field}.keyPem`, "(a key of another certificate)", `the private key of ${field}.certPem (${cert.subject})`);
        } catch {
            p.add(`${field}.keyPem`, "(unreadable)", "a PEM private key");
        }
    }
}

function checkPreSigned(p: Problems, given: PreSignedCert[], certs: CertSpec[], cas: Partial<Record<CaName, CaInput>>): Map<string, PreSignedCert> {
    const byKey = new Map<string, PreSignedCert>();
    given.forEach((g, i) => {
        const f = `certificates.preSigned[${i}]`;
        const signer = SIGNER_OF[g?.name];
        if (!signer) {
            p.add(`${f}.name`, g?.name, `one of kubeadm's leaf certificate names: ${Object.keys(SIGNER_OF).join(", ")}`);
            return;
        }
        const perNode = (PER_NODE_CERTS as readonly string[]).includes(g.name);
        if (perNode && !g.node) p.add(`${f}.node`, g.node, `the node this ${g.name} certificate belongs to`);
        if (!perNode && g.node) p.add(`${f}.node`, g.node, `no node: ${g.name} is shared by the whole cluster`);
        if (!cas[signer] || cas[signer]!.keyPem !== undefined) {
            p.add(f, preSignedKey(g.name, g.node), `pre-signed certificates only for a CA given without its key (kubeadm's external-CA mode); ${signer} ${cas[signer] ? "has its key, so pulumi-kubeadm issues this certificate" : "is generated by pulumi-kubeadm"}`);
            return;
        }
        const spec = certs.find(c => c.name === g.name && c.node === g.node);
        if (!spec && certs.length > 0) {
            p.add(f, preSignedKey(g.name, g.node), "a certificate this cluster uses (check the node name and the etcd topology)");
            return;
        }
        if (byKey.has(preSignedKey(g.name, g.node))) p.add(f, preSignedKey(g.name, g.node), "each certificate once");
        byKey.set(preSignedKey(g.name, g.node), g);
        if (spec) checkPreSignedContent(p, g, spec, cas[signer]!, f);
    });
    for (const c of certs) {
        const ca = c.signer && cas[c.signer];
        if (ca && ca.keyPem === undefined && !byKey.has(preSignedKey(c.name, c.node))) {
            p.add("certificates.preSigned", `(no ${preSignedKey(c.name, c.node)})`, `a pre-signed ${c.name} certificate${c.node ? ` for node ${c.node}` : ""}: ${c.signer} was given without its key (external-CA mode), so pulumi-kubeadm cannot issue it`);
        }
    }
    return byKey;
}

function checkPreSignedContent(p: Problems, g: PreSignedCert, spec: CertSpec, ca: CaInput, f: string): void {
    const cert = known(g.certPem) ? parseCert(p, g.certPem, `${f}.certPem`) : undefined;
    if (!cert) return;
    const caCert = known(ca.certPem) ? safeCert(ca.certPem) : undefined;
    if (caCert && !cert.verify(caCert.publicKey)) p.add(`${f}.certPem`, cert.subject, `a certificate signed by ${spec.signer} (${caCert.subject})`);
    for (const wrong of certificateMismatches(cert, spec)) p.add(`${f}.certPem`, wrong.found, `${wrong.expected}, as kubeadm issues ${spec.name}`);
    if (known(g.keyPem)) {
        try {
            if (!cert.checkPrivateKey(createPrivateKey(g.keyPem))) p.add(`${f}.keyPem`, "(a key of another certificate)", `the private key of ${f}.certPem`);
        } catch {
            p.add(`${f}.keyPem`, "(unreadable)", "a PEM private key");
        }
    }
}

const EKU_OIDS: Record<string, string> = { server_auth: "1.3.6.1.5.5.7.3.1", client_auth: "1.3.6.1.5.5.7.3.2" };

/**
 * How a certificate differs from what kubeadm issues under that name: subject CN and O, CA flag,
 * extended key usages, required SANs (IPs compared as addresses, so IPv6 spellings match), expiry.
 */
export function certificateMismatches(certOrPem: X509Certificate | string, spec: Pick<CertSpec, "commonName" | "organization" | "usages" | "dnsNames" | "ipAddresses">): { found: string; expected: string }[] {
    const cert = typeof certOrPem === "string" ? new X509Certificate(certOrPem) : certOrPem;
    const out: { found: string; expected: string }[] = [];
    const rdns = cert.subject.split("\n");
    if (!rdns.includes(`CN=${spec.commonName}`)) out.push({ found: cert.subject, expected: `Subject CN=${spec.commonName}` });
    if (spec.organization && !rdns.includes(`O=${spec.organization}`)) out.push({ found: cert.subject, expected: `Subject O=${spec.organization}` });
    if (cert.ca) out.push({ found: "CA:TRUE", expected: "a leaf certificate (CA:FALSE)" });
    const ekus = cert.keyUsage ?? [];
    const missingEku = spec.usages.filter(u => EKU_OIDS[u] && !ekus.includes(EKU_OIDS[u]));
    if (missingEku.length > 0) out.push({ found: `extended key usages ${ekus.join(", ") || "(none)"}`, expected: `extended key usages including ${missingEku.join(", ")}` });
    const sans = (cert.subjectAltName ?? "").split(", ").filter(Boolean);
    const dns = new Set(sans.filter(x => x.startsWith("DNS:")).map(x => x.slice(4)));
    const ips = new Set(sans.filter(x => x.startsWith("IP Address:")).map(x => normalizeIp(x.slice(11))));
    const missing = [...spec.dnsNames.filter(d => !dns.has(d)).map(d => `DNS:${d}`), ...spec.ipAddresses.filter(ip => !ips.has(normalizeIp(ip))).map(ip => `IP:${ip}`)];
    if (missing.length > 0) out.push({ found: cert.subjectAltName ?? "(no SANs)", expected: `SANs including ${missing.join(", ")}` });
    if (new Date(cert.validTo).getTime() < Date.now()) out.push({ found: `expired ${cert.validTo}`, expected: "a certificate that has not expired" });
    return out;
}

function normalizeIp(ip: string): string {
    try {
        return ipaddr.process(ip).toNormalizedString();
    } catch {
        return ip.toLowerCase();
    }
}

const known = (v: pulumi.Input<string> | undefined): v is string => typeof v === "string";

function safeCert(pem: string): X509Certificate | undefined {
    try {
        return new X509Certificate(pem);
    } catch {
        return undefined;
    }
}

function parseCert(p: Problems, pem: string, field: string): X509Certificate | undefined {
    const cert = safeCert(pem);
    if (!cert) p.add(field, pem.length > 40 ? `${pem.slice(0, 37)}...` : pem, "a PEM certificate (\"-----BEGIN CERTIFICATE-----\")");
    return cert;
}

/** The public half of a PEM private key, as "PUBLIC KEY" PEM (kubeadm's sa.pub). */
export function publicKeyPemOf(privateKeyPem: string): string {
    return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: "spki", format: "pem" }).toString();
}
