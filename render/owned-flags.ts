/**
 * Flags pulumi-kubeadm sets itself because their values come from the PKI it places, the hosts'
 * addresses or other spec fields. A user extraArg naming one of them is rejected with the field to
 * set instead; every other default flag may be overridden, as kubeadm allows.
 */
export type ControlPlaneComponent = "apiServer" | "controllerManager" | "scheduler" | "etcd" | "kubelet";

const PLACED_FILE = "points at a file pulumi-kubeadm places; set certificates.* to supply your own material";

export const OWNED_FLAGS: Record<ControlPlaneComponent, Record<string, string>> = {
    apiServer: {
        "advertise-address": "comes from each control-plane host's address (hosts[].address)",
        "secure-port": "set apiServer.bindPort",
        "etcd-servers": "comes from the etcd topology; set etcd.topology / etcd.external.endpoints",
        "etcd-cafile": PLACED_FILE,
        "etcd-certfile": PLACED_FILE,
        "etcd-keyfile": PLACED_FILE,
        "client-ca-file": PLACED_FILE,
        "tls-cert-file": PLACED_FILE,
        "tls-private-key-file": PLACED_FILE,
        "kubelet-client-certificate": PLACED_FILE,
        "kubelet-client-key": PLACED_FILE,
        "proxy-client-cert-file": PLACED_FILE,
        "proxy-client-key-file": PLACED_FILE,
        "requestheader-client-ca-file": PLACED_FILE,
        "service-account-key-file": PLACED_FILE,
        "service-account-signing-key-file": PLACED_FILE,
        "service-cluster-ip-range": "set networking.serviceSubnet",
        "encryption-provider-config": "points at the EncryptionConfiguration pulumi-kubeadm places; configure encryption at rest through the cluster's encryption settings",
    },
    controllerManager: {
        "kubeconfig": PLACED_FILE,
        "authentication-kubeconfig": PLACED_FILE,
        "authorization-kubeconfig": PLACED_FILE,
        "client-ca-file": PLACED_FILE,
        "requestheader-client-ca-file": PLACED_FILE,
        "root-ca-file": PLACED_FILE,
        "cluster-signing-cert-file": PLACED_FILE,
        "cluster-signing-key-file": PLACED_FILE,
        "service-account-private-key-file": PLACED_FILE,
        "cluster-cidr": "set networking.podSubnet",
        "service-cluster-ip-range": "set networking.serviceSubnet",
        "cluster-name": "set clusterName",
    },
    scheduler: {
        "kubeconfig": PLACED_FILE,
        "authentication-kubeconfig": PLACED_FILE,
        "authorization-kubeconfig": PLACED_FILE,
    },
    etcd: {
        "name": "comes from the member's host name (hosts[].name)",
        "data-dir": "set etcd.dataDir",
        "cert-file": PLACED_FILE,
        "key-file": PLACED_FILE,
        "peer-cert-file": PLACED_FILE,
        "peer-key-file": PLACED_FILE,
        "trusted-ca-file": PLACED_FILE,
        "peer-trusted-ca-file": PLACED_FILE,
        "client-cert-auth": "mutual TLS between clients and members is always on",
        "peer-client-cert-auth": "mutual TLS between members is always on",
        "initial-cluster": "comes from the etcd members (hosts with the etcd role, or the control planes when stacked)",
        "initial-cluster-state": "managed by pulumi-kubeadm as members join",
        "initial-advertise-peer-urls": "comes from the member's address (hosts[].address)",
        "advertise-client-urls": "comes from the member's address (hosts[].address)",
        "listen-peer-urls": "comes from the member's address (hosts[].address)",
        "listen-client-urls": "comes from the member's address (hosts[].address)",
    },
    kubelet: {
        "kubeconfig": PLACED_FILE,
        "bootstrap-kubeconfig": PLACED_FILE,
        "config": "points at /var/lib/kubelet/config.yaml; set kubelet.config to change its fields",
        "container-runtime-endpoint": "set hosts[].criSocket",
        "hostname-override": "set hosts[].name",
        "node-ip": "comes from hosts[].address",
    },
};
