import { isIp } from "../spec/network";
import { NodeAddress } from "../spec/types";

/**
 * kubeadm's certificate inventory (cmd/kubeadm/app/phases/certs/certlist.go) as plain data:
 * names, files, signers, subjects, usages and SANs, computed as kubeadm computes them.
 */
export interface CertSpec {
    /** kubeadm's certificate name, e.g. "apiserver", "etcd-server". */
    name: string;
    /** The node a per-node certificate belongs to. */
    node?: string;
    /** File path relative to the certificates directory, without extension: "etcd/server". */
    file: string;
    /** The signing CA's name; undefined for a self-signed CA. */
    signer?: CaName;
    isCa: boolean;
    commonName: string;
    organization?: string;
    /** Set for the client certificate embedded in a kubeconfig ("admin.conf", "kubelet.conf", ...). */
    kubeconfig?: string;
    /** Key usages and extended key usages, as @pulumi/tls's allowedUses names. */
    usages: string[];
    dnsNames: string[];
    ipAddresses: string[];
}

export type CaName = "ca" | "front-proxy-ca" | "etcd-ca";

export interface PkiInventoryInput {
    /** Host part of the control-plane endpoint (DNS name or IP). */
    controlPlaneEndpointHost: string;
    /** First address of the first service CIDR. */
    apiServerServiceIp: string;
    dnsDomain: string;
    controlPlanes: NodeAddress[];
    /** etcd members to issue server and peer certificates for; ignored with externalEtcd. */
    etcdMembers: NodeAddress[];
    externalEtcd: boolean;
    /** Also issue the client certificates of each control plane's kubeconfigs (kubeadm's kubeconfig phase). */
    kubeconfigs?: boolean;
    apiServerCertSANs: string[];
    etcdServerCertSANs: string[];
    etcdPeerCertSANs: string[];
}

// The tls provider takes Terraform's snake_case usage names (its docs render them in camelCase).
const CA_USAGES = ["digital_signature", "key_encipherment", "cert_signing"];
const LEAF_USAGES = ["digital_signature", "key_encipherment"];
const SERVER = [...LEAF_USAGES, "server_auth"];
const CLIENT = [...LEAF_USAGES, "client_auth"];
const SERVER_AND_CLIENT = [...LEAF_USAGES, "server_auth", "client_auth"];

const KUBECONFIG_CERTS = ["kubeconfig-admin", "kubeconfig-super-admin", "kubeconfig-controller-manager", "kubeconfig-scheduler", "kubeconfig-kubelet"];

/** Per-node certificate names: one per control plane or etcd member. */
export const PER_NODE_CERTS = ["apiserver", "etcd-server", "etcd-peer", ...KUBECONFIG_CERTS] as const;

/** In kubeadm's generation order (GetDefaultCertList, or GetCertsWithoutEtcd with external etcd). */
export function certificateInventory(input: PkiInventoryInput): CertSpec[] {
    const ca = (name: CaName, file: string): CertSpec => ({
        name, file, isCa: true, commonName: name === "ca" ? "kubernetes" : name, usages: CA_USAGES,
        dnsNames: [name === "ca" ? "kubernetes" : name], ipAddresses: [],
    });
    const client = (name: string, file: string, signer: CaName, commonName: string, organization?: string): CertSpec => ({
        name, file, signer, isCa: false, commonName, organization, usages: CLIENT, dnsNames: [], ipAddresses: [],
    });

    const certs: CertSpec[] = [ca("ca", "ca")];
    for (const cp of input.controlPlanes) {
        certs.push({
            name: "apiserver", node: cp.name, file: "apiserver", signer: "ca", isCa: false, commonName: "kube-apiserver",
            usages: SERVER, ...apiServerAltNames(input, cp),
        });
    }
    certs.push(
        // No organization: kubeadm binds the user to system:kubelet-api-admin (bootstrapRbac).
        client("apiserver-kubelet-client", "apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client"),
        ca("front-proxy-ca", "front-proxy-ca"),
        client("front-proxy-client", "front-proxy-client", "front-proxy-ca", "front-proxy-client"),
    );
    if (!input.externalEtcd) {
        certs.push(ca("etcd-ca", "etcd/ca"));
        for (const m of input.etcdMembers) {
            certs.push({
                name: "etcd-server", node: m.name, file: "etcd/server", signer: "etcd-ca", isCa: false, commonName: m.name,
                usages: SERVER_AND_CLIENT, ...etcdAltNames(m, input.etcdServerCertSANs),
            });
        }
        for (const m of input.etcdMembers) {
            certs.push({
                name: "etcd-peer", node: m.name, file: "etcd/peer", signer: "etcd-ca", isCa: false, commonName: m.name,
                usages: SERVER_AND_CLIENT, ...etcdAltNames(m, input.etcdPeerCertSANs),
            });
        }
        certs.push(
            client("etcd-healthcheck-client", "etcd/healthcheck-client", "etcd-ca", "kube-etcd-healthcheck-client"),
            client("apiserver-etcd-client", "apiserver-etcd-client", "etcd-ca", "kube-apiserver-etcd-client"),
        );
    }
    if (input.kubeconfigs) certs.push(...kubeconfigCertificates(input.controlPlanes));
    return certs;
}

/**
 * The client certificates kubeadm embeds in each control plane's kubeconfigs (reference §2):
 * admin.conf, controller-manager.conf, scheduler.conf and kubelet.conf on every control plane,
 * super-admin.conf on the first one only.
 */
export function kubeconfigCertificates(controlPlanes: NodeAddress[]): CertSpec[] {
    const cert = (node: NodeAddress, kubeconfig: string, commonName: string, organization?: string): CertSpec => ({
        name: `kubeconfig-${kubeconfig.replace(/\.conf$/, "")}`, node: node.name, file: kubeconfig.replace(/\.conf$/, ""), kubeconfig,
        signer: "ca", isCa: false, commonName, organization, usages: CLIENT, dnsNames: [], ipAddresses: [],
    });
    return controlPlanes.flatMap((cp, i) => [
        cert(cp, "admin.conf", "kubernetes-admin", "kubeadm:cluster-admins"),
        ...(i === 0 ? [cert(cp, "super-admin.conf", "kubernetes-super-admin", "system:masters")] : []),
        cert(cp, "controller-manager.conf", "system:kube-controller-manager"),
        cert(cp, "scheduler.conf", "system:kube-scheduler"),
        cert(cp, "kubelet.conf", `system:node:${cp.name}`, "system:nodes"),
    ]);
}

/** GetAPIServerAltNames: DNS names sorted, IPs in first-seen order, duplicates removed. */
export function apiServerAltNames(input: PkiInventoryInput, node: NodeAddress): { dnsNames: string[]; ipAddresses: string[] } {
    const dns = [node.name, "kubernetes", "kubernetes.default", "kubernetes.default.svc", `kubernetes.default.svc.${input.dnsDomain}`];
    const ips = [input.apiServerServiceIp, node.address];
    const endpointHost = input.controlPlaneEndpointHost;
    if (endpointHost) (isIp(endpointHost) ? ips : dns).push(endpointHost);
    for (const san of input.apiServerCertSANs) (isIp(san) ? ips : dns).push(san);
    return altNames(dns, ips);
}

/** etcd's getAltNames: node name and localhost, the member's address and both loopbacks. */
export function etcdAltNames(node: NodeAddress, extraSans: string[]): { dnsNames: string[]; ipAddresses: string[] } {
    const dns = [node.name, "localhost"];
    const ips = [node.address, "127.0.0.1", "::1"];
    for (const san of extraSans) (isIp(san) ? ips : dns).push(san);
    return altNames(dns, ips);
}

function altNames(dns: string[], ips: string[]): { dnsNames: string[]; ipAddresses: string[] } {
    return { dnsNames: [...new Set(dns)].sort(), ipAddresses: [...new Set(ips)] };
}

/** Which CA a kubeadm certificate name is signed by, for every leaf kubeadm issues. */
export const SIGNER_OF: Record<string, CaName> = {
    "apiserver": "ca",
    "apiserver-kubelet-client": "ca",
    "front-proxy-client": "front-proxy-ca",
    "etcd-server": "etcd-ca",
    "etcd-peer": "etcd-ca",
    "etcd-healthcheck-client": "etcd-ca",
    "apiserver-etcd-client": "etcd-ca",
    ...Object.fromEntries(KUBECONFIG_CERTS.map(n => [n, "ca" as const])),
};
