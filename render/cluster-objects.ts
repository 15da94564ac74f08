import { createHash } from "node:crypto";
import { DEFAULT_TOKEN_GROUP } from "./bootstrap-token";
import { minorAtLeast } from "./manifests/static-pod";

/** A Kubernetes object as plain data (apiVersion, kind, metadata, and the rest). */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: { [k: string]: string }; annotations?: { [k: string]: string } };
    [field: string]: unknown;
}

const RBAC = "rbac.authorization.k8s.io/v1";
const roleRef = (kind: "ClusterRole" | "Role", name: string) => ({ apiGroup: "rbac.authorization.k8s.io", kind, name });
const group = (name: string) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name });
const user = (name: string) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "User", name });
const NODES_GROUP = "system:nodes";

export const CLUSTER_ADMINS = "kubeadm:cluster-admins";

/**
 * kubeadm init's `kubeadm:cluster-admins` binding: admin.conf's group gets cluster-admin. kubeadm
 * creates it with super-admin.conf (system:masters), before anything uses admin.conf.
 */
export function clusterAdminsBinding(): KubeObject {
    return { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: CLUSTER_ADMINS }, roleRef: roleRef("ClusterRole", "cluster-admin"), subjects: [group(CLUSTER_ADMINS)] };
}

function roleAndBinding(namespace: string, name: string, resource: string, resourceName: string, subjects: object[]): KubeObject[] {
    return [
        { apiVersion: RBAC, kind: "Role", metadata: { name, namespace }, rules: [{ apiGroups: [""], resources: [resource], resourceNames: [resourceName], verbs: ["get"] }] },
        { apiVersion: RBAC, kind: "RoleBinding", metadata: { name, namespace }, roleRef: roleRef("Role", name), subjects },
    ];
}

/**
 * The RBAC of kubeadm's bootstrap-token and upload-config phases (reference §5.4): joining with a
 * token, automatic approval of node client CSRs and their rotation, reading the node's Node, the
 * kubeadm and kubelet ConfigMaps, and anonymous reads of cluster-info.
 */
export function bootstrapRbac(): KubeObject[] {
    const bootstrappers = group(DEFAULT_TOKEN_GROUP);
    return [
        { apiVersion: RBAC, kind: "ClusterRole", metadata: { name: "kubeadm:get-nodes" }, rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }] },
        { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "kubeadm:get-nodes" }, roleRef: roleRef("ClusterRole", "kubeadm:get-nodes"), subjects: [bootstrappers] },
        { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "kubeadm:kubelet-bootstrap" }, roleRef: roleRef("ClusterRole", "system:node-bootstrapper"), subjects: [bootstrappers] },
        { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "kubeadm:node-autoapprove-bootstrap" }, roleRef: roleRef("ClusterRole", "system:certificates.k8s.io:certificatesigningrequests:nodeclient"), subjects: [bootstrappers] },
        { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "kubeadm:node-autoapprove-certificate-rotation" }, roleRef: roleRef("ClusterRole", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"), subjects: [group(NODES_GROUP)] },
        // AllowAPIServerToAccessKubeletAPI: apiserver-kubelet-client.crt carries only its CN.
        { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "kubeadm:apiserver-kubelet-client" }, roleRef: roleRef("ClusterRole", "system:kubelet-api-admin"), subjects: [user("kube-apiserver-kubelet-client")] },
        ...roleAndBinding("kube-system", "kubeadm:nodes-kubeadm-config", "configmaps", "kubeadm-config", [bootstrappers, group(NODES_GROUP)]),
        ...roleAndBinding("kube-system", "kubeadm:kubelet-config", "configmaps", "kubelet-config", [group(NODES_GROUP), bootstrappers]),
        ...roleAndBinding("kube-public", "kubeadm:bootstrap-signer-clusterinfo", "configmaps", "cluster-info", [user("system:anonymous")]),
    ];
}

/**
 * kubeadm's component-config hash annotation value: SHA-256 over the ConfigMap's data values in
 * key order (componentconfigs.ChecksumForConfigMap).
 */
export function componentConfigHash(data: { [key: string]: string }): string {
    const h = createHash("sha256");
    for (const key of Object.keys(data).sort()) h.update(data[key]);
    return `sha256:${h.digest("hex")}`;
}

export const COMPONENT_CONFIG_HASH = "kubeadm.kubernetes.io/component-config.hash";

/** `kube-system/kubeadm-config` (upload-config kubeadm): the ClusterConfiguration. */
export function kubeadmConfigMap(clusterConfiguration: string): KubeObject {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kubeadm-config", namespace: "kube-system" }, data: { ClusterConfiguration: clusterConfiguration } };
}

/** `kube-system/kubelet-config` (upload-config kubelet): the cluster's KubeletConfiguration, with kubeadm's hash. */
export function kubeletConfigMap(kubeletConfiguration: string): KubeObject {
    const data = { kubelet: kubeletConfiguration };
    return {
        apiVersion: "v1", kind: "ConfigMap",
        metadata: { name: "kubelet-config", namespace: "kube-system", annotations: { [COMPONENT_CONFIG_HASH]: componentConfigHash(data) } },
        data,
    };
}

/** `kube-public/cluster-info`: the discovery kubeconfig and a JWS per signing token. */
export function clusterInfoConfigMap(kubeconfigText: string, signatures: { [tokenId: string]: string }): KubeObject {
    const data: { [key: string]: string } = { kubeconfig: kubeconfigText };
    for (const [id, jws] of Object.entries(signatures)) data[`jws-kubeconfig-${id}`] = jws;
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cluster-info", namespace: "kube-public" }, data };
}

/** The `bootstrap-token-<id>` Secret around BootstrapTokenToSecret's data. */
export function bootstrapTokenSecret(tokenId: string, stringData: { [key: string]: string }): KubeObject {
    return { apiVersion: "v1", kind: "Secret", type: "bootstrap.kubernetes.io/token", metadata: { name: `bootstrap-token-${tokenId}`, namespace: "kube-system" }, stringData };
}

export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";
export const EXCLUDE_FROM_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";
export const CRI_SOCKET_ANNOTATION = "kubeadm.alpha.kubernetes.io/cri-socket";

/**
 * What mark-control-plane sets on a control plane's Node (its taints came with the kubelet's
 * --register-with-taints), and the CRI-socket annotation kubeadm writes before NodeLocalCRISocket (1.34).
 */
export function controlPlaneNodeMetadata(node: string, minor: string, criSocket: string): KubeObject["metadata"] {
    return {
        name: node,
        labels: { [CONTROL_PLANE_LABEL]: "", [EXCLUDE_FROM_LB_LABEL]: "" },
        ...(minorAtLeast(minor, 1, 34) ? {} : { annotations: { [CRI_SOCKET_ANNOTATION]: criSocket } }),
    };
}
