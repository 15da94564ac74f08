import { minorAtLeast } from "./manifests/static-pod";
import { toYaml } from "./yaml";

/** A kubeconfig as kubeadm writes it (CreateWithCerts / CreateWithToken, then clientcmd.Write). */
export interface KubeconfigInput {
    /** kubeadm's clusterName, "kubernetes" by default. */
    clusterName: string;
    /** "https://host:port". */
    server: string;
    caCertPem: string;
    /** The user: kubeadm names it after the certificate's CN ("kubernetes-admin", "system:node:cp-1"). */
    user: string;
    clientCertPem?: string;
    clientKeyPem?: string;
    /** Bootstrap token ("id.secret") instead of a client certificate. */
    token?: string;
    /** Kubernetes minor ("1.33"): kubeadm 1.33 still writes `preferences: {}`, 1.34+ (client-go's omitempty) no longer. Newest shape when absent. */
    minor?: string;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

export function kubeconfig(i: KubeconfigInput): string {
    const context = `${i.user}@${i.clusterName}`;
    const user: Record<string, string> = i.token !== undefined
        ? { token: i.token }
        : { "client-certificate-data": b64(i.clientCertPem ?? ""), "client-key-data": b64(i.clientKeyPem ?? "") };
    return toYaml({
        apiVersion: "v1",
        clusters: [{ cluster: { "certificate-authority-data": b64(i.caCertPem), server: i.server }, name: i.clusterName }],
        contexts: [{ context: { cluster: i.clusterName, user: i.user }, name: context }],
        "current-context": context,
        kind: "Config",
        ...(i.minor && !minorAtLeast(i.minor, 1, 34) ? { preferences: {} } : {}),
        users: [{ name: i.user, user }],
    });
}

/**
 * `kube-public/cluster-info`'s kubeconfig: one cluster with an empty name, no users or contexts, as
 * kubeadm's clientcmd.Write gives it (with `preferences: {}` before 1.34, as for the other kubeconfigs).
 */
export function clusterInfoKubeconfig(server: string, caCertPem: string, minor?: string): string {
    return toYaml({
        apiVersion: "v1",
        clusters: [{ cluster: { "certificate-authority-data": b64(caCertPem), server }, name: "" }],
        contexts: null,
        "current-context": "",
        kind: "Config",
        ...(minor && !minorAtLeast(minor, 1, 34) ? { preferences: {} } : {}),
        users: null,
    });
}
