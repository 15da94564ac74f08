import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { discoveryTokenCaCertHash } from "../render/discovery";
import { CaName, CertSpec } from "../render/pki";
import { ClusterPkiArgs, KeyAlgorithm, planPki, preSignedKey, publicKeyPemOf } from "../spec/pki";

export type { ClusterPkiArgs } from "../spec/pki";

type Pem = pulumi.Output<string>;
interface Material { cert: Pem; key?: Pem }
type FileMap = { [path: string]: string };

/**
 * kubeadm's `init phase certs`: the Kubernetes, front-proxy and etcd CAs, every leaf certificate
 * kubeadm issues (per-node apiserver and etcd server/peer certificates included) and the
 * service-account key pair, with kubeadm's subjects, usages and SANs.
 */
export class ClusterPki extends pulumi.ComponentResource {
    public readonly caCertPem: pulumi.Output<string>;
    public readonly frontProxyCaCertPem: pulumi.Output<string>;
    /** Empty with an external etcd cluster. */
    public readonly etcdCaCertPem: pulumi.Output<string>;
    public readonly serviceAccountPublicKeyPem: pulumi.Output<string>;
    /** `sha256:<hex>` of the CA's SubjectPublicKeyInfo, for `kubeadm join --discovery-token-ca-cert-hash`. */
    public readonly discoveryTokenCaCertHash: pulumi.Output<string>;
    /** Certificates shared by every control plane, by path under the certificates directory ("ca.crt", "etcd/ca.crt", "sa.pub"). */
    public readonly publicFiles: pulumi.Output<{ [path: string]: string }>;
    /** Private keys shared by every control plane, by path ("ca.key", "sa.key"). Secret. @secret */
    public readonly privateFiles: pulumi.Output<{ [path: string]: string }>;
    /** Per-node certificates (apiserver, etcd server and peer), by node name, then path. */
    public readonly nodePublicFiles: pulumi.Output<{ [node: string]: { [path: string]: string } }>;
    /** Per-node private keys, by node name, then path. Secret. @secret */
    public readonly nodePrivateFiles: pulumi.Output<{ [node: string]: { [path: string]: string } }>;
    /** With `kubeconfigs`: each control plane's kubeconfig client certificates, by node, then file ("admin.conf"). */
    public readonly nodeKubeconfigCerts: pulumi.Output<{ [node: string]: { [kubeconfig: string]: string } }>;
    /** Their keys. Secret. @secret */
    public readonly nodeKubeconfigKeys: pulumi.Output<{ [node: string]: { [kubeconfig: string]: string } }>;

    constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planPki(args);
        super("kubeadm:index:ClusterPki", name, {}, opts);
        for (const w of plan.warnings) pulumi.log.warn(w, this);

        const parent = { parent: this };
        // Without renewal (upgrade.renewCertificates false) the leaves are the user's to renew.
        const replacementTrigger = args.renewal === undefined ? undefined : leafRenewal(name, args.renewal, plan.validityHours, this);
        const newKey = (id: string) => new tls.PrivateKey(`${name}-${id}`, keyArgs(plan.key), parent);
        const issued = new Map<string, Material>();
        const cas: Partial<Record<CaName, Material>> = {};

        for (const spec of plan.certs) {
            const id = spec.node ? `${spec.name}-${spec.node}` : spec.name;
            let material: Material;
            if (spec.isCa) {
                const supplied = plan.suppliedCas[spec.name as CaName];
                material = supplied
                    ? { cert: pulumi.output(supplied.certPem), key: supplied.keyPem === undefined ? undefined : pulumi.secret(supplied.keyPem) }
                    : selfSignedCa(newKey(id), spec, plan.caValidityHours, `${name}-${id}`, parent);
                cas[spec.name as CaName] = material;
            } else {
                const preSigned = plan.preSigned.get(preSignedKey(spec.name, spec.node));
                material = preSigned
                    ? { cert: pulumi.output(preSigned.certPem), key: pulumi.secret(preSigned.keyPem) }
                    : signedLeaf(newKey(id), spec, cas[spec.signer!]!, plan.validityHours, `${name}-${id}`, { ...parent, replacementTrigger });
            }
            issued.set(preSignedKey(spec.name, spec.node), material);
        }

        const suppliedSaKey = args.certificates?.serviceAccountKey;
        const saPrivate = suppliedSaKey !== undefined ? pulumi.secret(suppliedSaKey) : newKey("sa").privateKeyPem;
        const saPublic = pulumi.unsecret(pulumi.output(saPrivate).apply(publicKeyPemOf));

        const shared = plan.certs.filter(c => !c.node);
        const perNode = plan.certs.filter(c => c.node && !c.kubeconfig);
        const forKubeconfigs = plan.certs.filter(c => c.kubeconfig);

        this.caCertPem = cas["ca"]!.cert;
        this.frontProxyCaCertPem = cas["front-proxy-ca"]!.cert;
        this.etcdCaCertPem = cas["etcd-ca"]?.cert ?? pulumi.output("");
        this.serviceAccountPublicKeyPem = saPublic;
        this.discoveryTokenCaCertHash = this.caCertPem.apply(discoveryTokenCaCertHash);
        this.publicFiles = files([...shared.map(c => [`${c.file}.crt`, issued.get(c.name)!.cert] as const), ["sa.pub", saPublic]]);
        this.privateFiles = pulumi.secret(files([
            ...shared.flatMap(c => (issued.get(c.name)!.key ? [[`${c.file}.key`, issued.get(c.name)!.key!] as const] : [])),
            ["sa.key", pulumi.output(saPrivate)],
        ]));
        const byNode = (certs: CertSpec[], pick: (m: Material) => Pem | undefined, key: (c: CertSpec) => string) =>
            pulumi.all(Object.fromEntries([...new Set(certs.map(c => c.node!))].map(n => [n, files(certs.filter(c => c.node === n)
                .map(c => [key(c), pick(issued.get(preSignedKey(c.name, n))!)!] as const))])));
        this.nodePublicFiles = byNode(perNode, m => m.cert, c => `${c.file}.crt`);
        this.nodePrivateFiles = pulumi.secret(byNode(perNode, m => m.key, c => `${c.file}.key`));
        this.nodeKubeconfigCerts = byNode(forKubeconfigs, m => m.cert, c => c.kubeconfig!);
        this.nodeKubeconfigKeys = pulumi.secret(byNode(forKubeconfigs, m => m.key, c => c.kubeconfig!));

        this.registerOutputs({
            caCertPem: this.caCertPem, frontProxyCaCertPem: this.frontProxyCaCertPem, etcdCaCertPem: this.etcdCaCertPem,
            serviceAccountPublicKeyPem: this.serviceAccountPublicKeyPem, discoveryTokenCaCertHash: this.discoveryTokenCaCertHash,
            publicFiles: this.publicFiles, privateFiles: this.privateFiles,
            nodePublicFiles: this.nodePublicFiles, nodePrivateFiles: this.nodePrivateFiles,
            nodeKubeconfigCerts: this.nodeKubeconfigCerts, nodeKubeconfigKeys: this.nodeKubeconfigKeys,
        });
    }
}

/** Leaf certificates are issued again this long before they expire, by any pulumi up (kubeadm renews them only on upgrades). */
export const RENEW_BEFORE_HOURS = 30 * 24;

/**
 * What replaces every leaf certificate: `renewal` (the version, on upgrades), and the number of
 * renewal periods (validity less RENEW_BEFORE_HOURS) since the first issue, recorded in a Stash.
 * A leaf issued at any time (first, or again by an upgrade) is therefore issued again at the next
 * period's start, at least RENEW_BEFORE_HOURS before it expires. Period 0 is `renewal` as it was.
 */
function leafRenewal(name: string, renewal: string, validityHours: number, parent: pulumi.Resource): pulumi.Output<string> {
    const first = new pulumi.Stash(`${name}-first-issued`, { input: new Date().toISOString() }, { parent, ignoreChanges: ["input"] });
    const periodHours = validityHours > 2 * RENEW_BEFORE_HOURS ? validityHours - RENEW_BEFORE_HOURS : validityHours / 2;
    return pulumi.output(first.output).apply((issued: string) => {
        const periods = renewalPeriods(issued, periodHours, Date.now());
        return periods === 0 ? renewal : `${renewal}+renewal-${periods}`;
    });
}

/** Whole renewal periods from `issued` (an ISO time) to `now` (ms). */
export function renewalPeriods(issued: string, periodHours: number, now: number): number {
    const since = now - Date.parse(issued);
    return Number.isFinite(since) && since > 0 ? Math.floor(since / (periodHours * 3_600_000)) : 0;
}

function keyArgs(k: KeyAlgorithm): tls.PrivateKeyArgs {
    return k.algorithm === "RSA" ? { algorithm: "RSA", rsaBits: k.rsaBits } : { algorithm: "ECDSA", ecdsaCurve: k.ecdsaCurve };
}

function subject(spec: CertSpec): tls.types.input.SelfSignedCertSubject {
    return spec.organization ? { commonName: spec.commonName, organization: spec.organization } : { commonName: spec.commonName };
}

function selfSignedCa(key: tls.PrivateKey, spec: CertSpec, hours: number, name: string, opts: pulumi.CustomResourceOptions): Material {
    const cert = new tls.SelfSignedCert(name, {
        privateKeyPem: key.privateKeyPem,
        subject: subject(spec),
        dnsNames: spec.dnsNames,
        allowedUses: spec.usages,
        isCaCertificate: true,
        setSubjectKeyId: true,
        validityPeriodHours: hours,
    }, opts);
    return { cert: cert.certPem, key: pulumi.secret(key.privateKeyPem) };
}

function signedLeaf(key: tls.PrivateKey, spec: CertSpec, ca: Material, hours: number, name: string, opts: pulumi.CustomResourceOptions): Material {
    const csr = new tls.CertRequest(name, {
        privateKeyPem: key.privateKeyPem,
        subject: subject(spec),
        dnsNames: spec.dnsNames,
        ipAddresses: spec.ipAddresses,
    }, opts);
    const cert = new tls.LocallySignedCert(name, {
        certRequestPem: csr.certRequestPem,
        caCertPem: ca.cert,
        caPrivateKeyPem: ca.key!,
        allowedUses: spec.usages,
        validityPeriodHours: hours,
    }, opts);
    return { cert: cert.certPem, key: pulumi.secret(key.privateKeyPem) };
}

function files(entries: (readonly [string, pulumi.Input<string>])[]): pulumi.Output<FileMap> {
    return pulumi.all(Object.fromEntries(entries)) as pulumi.Output<FileMap>;
}
