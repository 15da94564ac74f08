import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, ClusterPkiArgs } from "../../components/pki";
import { SpecError } from "../../spec/problems";
import { PreSignedCert } from "../../spec/types";
import { MockRuntime, valueOf } from "../support/mocks";
import {
    certPublicKey, discoveryHashByShell, inspectCert, KeyPair, opensslCa, opensslLeaf, pemBegins, privateKeyPublicKey, verify,
} from "../support/openssl";

const runtime = new MockRuntime();

const HA: ClusterPkiArgs = {
    controlPlaneEndpoint: "k8s-api.example.internal:6443",
    networking: { serviceSubnet: "10.96.0.0/12", podSubnet: "10.244.0.0/16" },
    controlPlanes: [{ name: "cp-1", address: "10.0.10.11" }, { name: "cp-2", address: "10.0.10.12" }, { name: "cp-3", address: "10.0.10.13" }],
    etcdMembers: [{ name: "etcd-1", address: "10.0.20.11" }, { name: "etcd-2", address: "10.0.20.12" }, { name: "etcd-3", address: "10.0.20.13" }],
    apiServerCertSANs: ["10.0.10.10", "api.example.internal"],
};

interface Files {
    pub: Record<string, string>;
    priv: Record<string, string>;
    nodePub: Record<string, Record<string, string>>;
    nodePriv: Record<string, Record<string, string>>;
}

async function filesOf(pki: ClusterPki): Promise<Files> {
    const [pub, priv, nodePub, nodePriv] = await Promise.all([
        valueOf(pki.publicFiles), valueOf(pki.privateFiles), valueOf(pki.nodePublicFiles), valueOf(pki.nodePrivateFiles),
    ]);
    return { pub, priv, nodePub, nodePriv };
}

const HOUR = 3600_000;
const expectValidity = (pem: string, hours: number) => {
    const c = inspectCert(pem);
    // openssl prints whole seconds; the cert is issued "now" (the tls provider cannot backdate).
    expect(Math.abs(c.notAfter.getTime() - c.notBefore.getTime() - hours * HOUR)).toBeLessThanOrEqual(2000);
    expect(Math.abs(c.notBefore.getTime() - Date.now())).toBeLessThan(10 * 60_000);
};

describe("ClusterPki: kubeadm's inventory (reference §1)", () => {
    let files: Files;
    let pki: ClusterPki;
    beforeAll(async () => {
        await runtime.start();
        pki = new ClusterPki("pki", HA);
        files = await filesOf(pki);
    });

    test("places exactly kubeadm's files", () => {
        expect(Object.keys(files.pub).sort()).toEqual([
            "apiserver-etcd-client.crt", "apiserver-kubelet-client.crt", "ca.crt", "etcd/ca.crt", "etcd/healthcheck-client.crt",
            "front-proxy-ca.crt", "front-proxy-client.crt", "sa.pub",
        ]);
        expect(Object.keys(files.priv).sort()).toEqual([
            "apiserver-etcd-client.key", "apiserver-kubelet-client.key", "ca.key", "etcd/ca.key", "etcd/healthcheck-client.key",
            "front-proxy-ca.key", "front-proxy-client.key", "sa.key",
        ]);
        expect(files.nodePub).toEqual({
            "cp-1": { "apiserver.crt": expect.any(String) }, "cp-2": { "apiserver.crt": expect.any(String) }, "cp-3": { "apiserver.crt": expect.any(String) },
            "etcd-1": { "etcd/server.crt": expect.any(String), "etcd/peer.crt": expect.any(String) },
            "etcd-2": { "etcd/server.crt": expect.any(String), "etcd/peer.crt": expect.any(String) },
            "etcd-3": { "etcd/server.crt": expect.any(String), "etcd/peer.crt": expect.any(String) },
        });
        expect(Object.keys(files.nodePriv["cp-1"])).toEqual(["apiserver.key"]);
        expect(Object.keys(files.nodePriv["etcd-2"]).sort()).toEqual(["etcd/peer.key", "etcd/server.key"]);
    });

    test.each([
        ["ca.crt", "CN=kubernetes"],
        ["front-proxy-ca.crt", "CN=front-proxy-ca"],
        ["etcd/ca.crt", "CN=etcd-ca"],
    ])("%s is a self-signed CA with %s, its CN as DNS SAN, kubeadm's key usages, 10 years", (file, subject) => {
        const c = inspectCert(files.pub[file]);
        expect(c.subject).toBe(subject);
        expect(c.issuer).toBe(subject);
        expect(c.isCa).toBe(true);
        expect(c.basicConstraintsCritical).toBe(true);
        expect(c.keyUsage).toEqual(["Digital Signature", "Key Encipherment", "Certificate Sign"]);
        expect(c.extKeyUsage).toEqual([]);
        expect(c.dnsNames).toEqual([subject.slice(3)]);
        expect(c.hasSubjectKeyId).toBe(true);
        expect(c.hasAuthorityKeyId).toBe(false);
        expect(c.signatureAlgorithm).toBe("sha256WithRSAEncryption");
        expectValidity(files.pub[file], 87600);
        expect(verify(files.pub[file], files.pub[file]).ok).toBe(true);
    });

    // [file, CA file, subject (RFC 2253: CN first), extended key usages, DNS SANs, IP SANs]
    const leaves: [string, string, string, string[], string[], string[]][] = [
        ["apiserver-kubelet-client.crt", "ca.crt", "CN=kube-apiserver-kubelet-client", ["TLS Web Client Authentication"], [], []],
        ["front-proxy-client.crt", "front-proxy-ca.crt", "CN=front-proxy-client", ["TLS Web Client Authentication"], [], []],
        ["etcd/healthcheck-client.crt", "etcd/ca.crt", "CN=kube-etcd-healthcheck-client", ["TLS Web Client Authentication"], [], []],
        ["apiserver-etcd-client.crt", "etcd/ca.crt", "CN=kube-apiserver-etcd-client", ["TLS Web Client Authentication"], [], []],
    ];
    test.each(leaves)("%s: signed by %s, %s, usages and SANs as kubeadm, 1 year", (file, caFile, subject, eku, dns, ips) => {
        const pem = files.pub[file];
        expect(verify(files.pub[caFile], pem)).toMatchObject({ ok: true });
        const c = inspectCert(pem);
        expect(c.subject).toBe(subject);
        expect(c.isCa).toBe(false);
        expect(c.keyUsage).toEqual(["Digital Signature", "Key Encipherment"]);
        expect(c.extKeyUsage).toEqual(eku);
        expect(c.dnsNames).toEqual(dns);
        expect(c.ipAddresses).toEqual(ips);
        expect(c.hasAuthorityKeyId).toBe(true);
        expectValidity(pem, 8760);
        expect(privateKeyPublicKey(files.priv[file.replace(/\.crt$/, ".key")])).toBe(certPublicKey(pem));
    });

    test("a leaf does not verify against another CA", () => {
        expect(verify(files.pub["ca.crt"], files.pub["front-proxy-client.crt"]).ok).toBe(false);
        expect(verify(files.pub["ca.crt"], files.pub["apiserver-etcd-client.crt"]).ok).toBe(false);
        expect(verify(files.pub["etcd/ca.crt"], files.nodePub["cp-1"]["apiserver.crt"]).ok).toBe(false);
    });

    test.each([["cp-1", "10.0.10.11"], ["cp-2", "10.0.10.12"], ["cp-3", "10.0.10.13"]])(
        "apiserver.crt of %s carries its own name and address, the service IP and the endpoint (reference §1.3)", (node, address) => {
            const pem = files.nodePub[node]["apiserver.crt"];
            expect(verify(files.pub["ca.crt"], pem).ok).toBe(true);
            const c = inspectCert(pem);
            expect(c.subject).toBe("CN=kube-apiserver");
            expect(c.extKeyUsage).toEqual(["TLS Web Server Authentication"]);
            expect(c.keyUsage).toEqual(["Digital Signature", "Key Encipherment"]);
            // DNS names sorted lexicographically; IPs in kubeadm's order: service VIP, advertise address, certSANs.
            expect(c.dnsNames).toEqual(["api.example.internal", node, "k8s-api.example.internal", "kubernetes", "kubernetes.default",
                "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]);
            expect(c.ipAddresses).toEqual(["10.96.0.1", address, "10.0.10.10"]);
            expect(privateKeyPublicKey(files.nodePriv[node]["apiserver.key"])).toBe(certPublicKey(pem));
        });

    test.each([["etcd-1", "10.0.20.11"], ["etcd-2", "10.0.20.12"], ["etcd-3", "10.0.20.13"]])(
        "etcd server and peer certificates of %s: CN = node, server+client auth, node/localhost and both loopbacks", (node, address) => {
            for (const file of ["etcd/server", "etcd/peer"]) {
                const pem = files.nodePub[node][`${file}.crt`];
                expect(verify(files.pub["etcd/ca.crt"], pem).ok).toBe(true);
                const c = inspectCert(pem);
                expect(c.subject).toBe(`CN=${node}`);
                expect(c.extKeyUsage).toEqual(["TLS Web Server Authentication", "TLS Web Client Authentication"]);
                expect(c.dnsNames).toEqual([node, "localhost"]);
                expect(c.ipAddresses).toEqual([address, "127.0.0.1", "0:0:0:0:0:0:0:1"]);
                expectValidity(pem, 8760);
                expect(privateKeyPublicKey(files.nodePriv[node][`${file}.key`])).toBe(certPublicKey(pem));
            }
        });

    test("private keys are PKCS#1 RSA 2048 PEM, as kubeadm writes them; sa.pub is the PKIX public key of sa.key", () => {
        for (const key of Object.values(files.priv)) expect(key).toMatch(pemBegins("RSA PRIVATE KEY"));
        expect(files.pub["sa.pub"]).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
        expect(privateKeyPublicKey(files.priv["sa.key"])).toBe(files.pub["sa.pub"]);
        expect(inspectCert(files.pub["ca.crt"]).publicKeyAlgorithm).toBe("rsaEncryption");
    });

    test("the discovery hash matches openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum", async () => {
        const hash = await valueOf(pki.discoveryTokenCaCertHash);
        expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(hash).toBe(discoveryHashByShell(files.pub["ca.crt"]));
    });

    test("private key outputs are secret", async () => {
        expect(await pulumi.isSecret(pki.privateFiles)).toBe(true);
        expect(await pulumi.isSecret(pki.nodePrivateFiles)).toBe(true);
        expect(await pulumi.isSecret(pki.publicFiles)).toBe(false);
    });

    test("every tls resource is a child of the component; three per leaf, two per CA, one for sa", () => {
        const count = (t: string) => runtime.ofType(`tls:index/${t}`).length;
        // 3 CAs; leaves: 3 apiserver, kubelet-client, front-proxy-client, 6 etcd server/peer, healthcheck, apiserver-etcd-client = 13
        expect(count("selfSignedCert:SelfSignedCert")).toBe(3);
        expect(count("certRequest:CertRequest")).toBe(13);
        expect(count("locallySignedCert:LocallySignedCert")).toBe(13);
        expect(count("privateKey:PrivateKey")).toBe(3 + 13 + 1);
        const component = runtime.ofType("kubeadm:index:ClusterPki")[0];
        for (const r of runtime.resources) expect(r.parent).toBe(component.urn);
    });
});

describe("ClusterPki options", () => {
    beforeEach(() => runtime.start());

    test("ECDSA-P256: EC keys (SEC1 PEM) and ecdsa-with-SHA256 signatures", async () => {
        const pki = new ClusterPki("ec", { ...HA, certificates: { encryptionAlgorithm: "ECDSA-P256" } });
        const files = await filesOf(pki);
        for (const key of Object.values(files.priv)) expect(key).toMatch(pemBegins("EC PRIVATE KEY"));
        const c = inspectCert(files.nodePub["cp-1"]["apiserver.crt"]);
        expect(c.publicKeyAlgorithm).toBe("id-ecPublicKey");
        expect(c.signatureAlgorithm).toBe("ecdsa-with-SHA256");
        expect(verify(files.pub["ca.crt"], files.nodePub["cp-1"]["apiserver.crt"]).ok).toBe(true);
        expect(await valueOf(pki.discoveryTokenCaCertHash)).toBe(discoveryHashByShell(files.pub["ca.crt"]));
    });

    test("kubeconfigs: each control plane's client certificates as kubeadm's kubeconfig phase issues them (reference §2)", async () => {
        const pki = new ClusterPki("kc", { ...HA, kubeconfigs: true });
        const [ca, certs, keys, nodeFiles] = await Promise.all([valueOf(pki.caCertPem), valueOf(pki.nodeKubeconfigCerts), valueOf(pki.nodeKubeconfigKeys), valueOf(pki.nodePublicFiles)]);
        const expected = (node: string) => ({
            "admin.conf": "CN=kubernetes-admin,O=kubeadm:cluster-admins",
            "controller-manager.conf": "CN=system:kube-controller-manager",
            "scheduler.conf": "CN=system:kube-scheduler",
            "kubelet.conf": `CN=system:node:${node},O=system:nodes`,
        });
        expect(Object.keys(certs).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        for (const node of ["cp-1", "cp-2", "cp-3"]) {
            const want: Record<string, string> = node === "cp-1" ? { ...expected(node), "super-admin.conf": "CN=kubernetes-super-admin,O=system:masters" } : expected(node);
            expect(Object.keys(certs[node]).sort()).toEqual(Object.keys(want).sort());
            for (const [conf, subject] of Object.entries(want)) {
                const c = inspectCert(certs[node][conf]);
                expect({ conf, subject: c.subject, eku: c.extKeyUsage, ca: c.isCa }).toEqual({ conf, subject, eku: ["TLS Web Client Authentication"], ca: false });
                expect(verify(ca, certs[node][conf]).ok).toBe(true);
                expect(privateKeyPublicKey(keys[node][conf])).toBe(certPublicKey(certs[node][conf]));
            }
        }
        // They stay out of the certificates directory's files.
        expect(Object.keys(nodeFiles["cp-1"])).toEqual(["apiserver.crt"]);
        expect(await pulumi.isSecret(pki.nodeKubeconfigKeys)).toBe(true);
    });

    test("validity periods are configurable", async () => {
        const pki = new ClusterPki("short", { ...HA, certificates: { caValidityHours: 240, validityHours: 24 } });
        const files = await filesOf(pki);
        expectValidity(files.pub["ca.crt"], 240);
        expectValidity(files.pub["front-proxy-client.crt"], 24);
    });

    test("external etcd: no etcd CA and no etcd certificates (GetCertsWithoutEtcd)", async () => {
        const pki = new ClusterPki("ext", { ...HA, etcdMembers: undefined, externalEtcd: true });
        const files = await filesOf(pki);
        expect(Object.keys(files.pub).sort()).toEqual(["apiserver-kubelet-client.crt", "ca.crt", "front-proxy-ca.crt", "front-proxy-client.crt", "sa.pub"]);
        expect(Object.keys(files.nodePub).sort()).toEqual(["cp-1", "cp-2", "cp-3"]);
        expect(await valueOf(pki.etcdCaCertPem)).toBe("");
    });

    test("an IP control-plane endpoint goes into the IP SANs; a custom DNS domain into the DNS SANs", async () => {
        const pki = new ClusterPki("ip", {
            controlPlaneEndpoint: "192.0.2.10:443", networking: { serviceSubnet: "10.100.0.0/16", dnsDomain: "corp.internal" },
            controlPlanes: [{ name: "cp-1", address: "10.0.10.11" }], etcdMembers: [{ name: "cp-1", address: "10.0.10.11" }],
        });
        const c = inspectCert((await valueOf(pki.nodePublicFiles))["cp-1"]["apiserver.crt"]);
        expect(c.ipAddresses).toEqual(["10.100.0.1", "10.0.10.11", "192.0.2.10"]);
        expect(c.dnsNames).toEqual(["cp-1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.corp.internal"]);
    });

    test("bring your own CA with its key: it signs the leaves and no CA is generated", async () => {
        const ca = opensslCa("kubernetes");
        const pki = new ClusterPki("byo", { ...HA, certificates: { ca } });
        const files = await filesOf(pki);
        expect(files.pub["ca.crt"]).toBe(ca.certPem);
        expect(files.priv["ca.key"]).toBe(ca.keyPem);
        expect(verify(ca.certPem, files.nodePub["cp-2"]["apiserver.crt"]).ok).toBe(true);
        expect(verify(ca.certPem, files.pub["apiserver-kubelet-client.crt"]).ok).toBe(true);
        expect(runtime.ofType("tls:index/selfSignedCert:SelfSignedCert").filter(r => r.name.startsWith("byo-")).map(r => r.name).sort()).toEqual(["byo-etcd-ca", "byo-front-proxy-ca"]);
        expect(await valueOf(pki.discoveryTokenCaCertHash)).toBe(discoveryHashByShell(ca.certPem));
    });

    describe("external-CA mode: CA certificate only, leaves pre-signed", () => {
        let ca: KeyPair;
        const apiserverSans = (name: string, ip: string) =>
            `DNS:${name},DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:k8s-api.example.internal,DNS:api.example.internal,IP:10.96.0.1,IP:${ip},IP:10.0.10.10`;
        const preSigned = (): PreSignedCert[] => [
            ...HA.controlPlanes.map(cp => ({ name: "apiserver", node: cp.name, ...opensslLeaf(ca, "/CN=kube-apiserver", apiserverSans(cp.name, cp.address), "serverAuth") })),
            { name: "apiserver-kubelet-client", ...opensslLeaf(ca, "/CN=kube-apiserver-kubelet-client", undefined, "clientAuth") },
        ];
        beforeAll(() => { ca = opensslCa("kubernetes"); });

        test("uses the pre-signed leaves; the CA key never appears", async () => {
            const given = preSigned();
            const pki = new ClusterPki("xca", { ...HA, certificates: { ca: { certPem: ca.certPem }, preSigned: given } });
            const files = await filesOf(pki);
            expect(files.priv["ca.key"]).toBeUndefined();
            expect(files.pub["ca.crt"]).toBe(ca.certPem);
            expect(files.nodePub["cp-2"]["apiserver.crt"]).toBe(given[1].certPem);
            expect(files.nodePriv["cp-2"]["apiserver.key"]).toBe(given[1].keyPem);
            expect(files.pub["apiserver-kubelet-client.crt"]).toBe(given[3].certPem);
            expect(runtime.ofType("tls:index/locallySignedCert:LocallySignedCert").map(r => r.name)).not.toContain("xca-apiserver-cp-1");
            expect(verify(files.pub["front-proxy-ca.crt"], files.pub["front-proxy-client.crt"]).ok).toBe(true);
        });

        test("a missing pre-signed leaf is an error at evaluation, and nothing is registered", () => {
            const given = preSigned().filter(c => c.node !== "cp-3");
            expect(() => new ClusterPki("xca2", { ...HA, certificates: { ca: { certPem: ca.certPem }, preSigned: given } }))
                .toThrow(/certificates\.preSigned: "\(no apiserver\/cp-3\)" — a pre-signed apiserver certificate for node cp-3: ca was given without its key/);
            expect(runtime.named("xca2")).toEqual([]);
        });

        test("a pre-signed apiserver certificate without kubeadm's SANs is rejected, naming the missing ones", () => {
            const given = preSigned();
            given[0] = { name: "apiserver", node: "cp-1", ...opensslLeaf(ca, "/CN=kube-apiserver", "DNS:cp-1,IP:10.0.10.11", "serverAuth") };
            expect(() => new ClusterPki("xca3", { ...HA, certificates: { ca: { certPem: ca.certPem }, preSigned: given } }))
                .toThrow(/certificates\.preSigned\[0\]\.certPem: "DNS:cp-1, IP Address:10\.0\.10\.11" — SANs including .*DNS:k8s-api\.example\.internal, .*IP:10\.96\.0\.1, IP:10\.0\.10\.10, as kubeadm issues apiserver/);
            expect(runtime.named("xca3")).toEqual([]);
        });

        test("a pre-signed leaf from another CA is rejected", () => {
            const given = preSigned();
            const other = opensslCa("kubernetes");
            given[3] = { name: "apiserver-kubelet-client", ...opensslLeaf(other, "/CN=kube-apiserver-kubelet-client", undefined, "clientAuth") };
            expect(() => new ClusterPki("xca4", { ...HA, certificates: { ca: { certPem: ca.certPem }, preSigned: given } }))
                .toThrow(/certificates\.preSigned\[3\]\.certPem: .* — a certificate signed by ca \(CN=kubernetes\)/);
        });

        test("pre-signed leaves are refused when the CA key is given", () => {
            expect(() => new ClusterPki("xca5", { ...HA, certificates: { ca, preSigned: preSigned().slice(3) } }))
                .toThrow(/pre-signed certificates only for a CA given without its key/);
            expect(runtime.named("xca5")).toEqual([]);
        });
    });

    test("a CA certificate that is not a CA, or a key that does not match, is rejected", () => {
        const ca = opensslCa("kubernetes");
        const leaf = opensslLeaf(ca, "/CN=not-a-ca", undefined, "clientAuth");
        const other = opensslCa("other");
        expect(() => new ClusterPki("bad", { ...HA, certificates: { ca: leaf, frontProxyCa: { certPem: other.certPem, keyPem: ca.keyPem } } }))
            .toThrow(/certificates\.ca\.certPem: .*a CA certificate[\s\S]*certificates\.frontProxyCa\.keyPem: "\(a key of another certificate\)"/);
        expect(runtime.named("bad")).toEqual([]);
    });

    test.each<[string, Partial<ClusterPkiArgs>, RegExp]>([
        ["no control planes", { controlPlanes: [] }, /controlPlanes: \[\] — a list of at least one \{name, address\}/],
        ["a bad node address", { controlPlanes: [{ name: "cp-1", address: "10.0.10" }] }, /controlPlanes\[0\] \(cp-1\)\.address: "10\.0\.10" — an IPv4 or IPv6 address/],
        ["a bad SAN", { apiServerCertSANs: ["under_score.example"] }, /apiServerCertSANs\[0\]: "under_score\.example"/],
        ["a bad service CIDR", { networking: { serviceSubnet: "10.96.0.0" } }, /networking\.serviceSubnet: "10\.96\.0\.0" — a CIDR/],
    ])("rejects %s at evaluation with nothing registered", (_name, change, message) => {
        expect(() => new ClusterPki("v", { ...HA, ...change })).toThrow(SpecError);
        expect(() => new ClusterPki("v", { ...HA, ...change })).toThrow(message);
        expect(runtime.named("v")).toEqual([]);
    });
});
