// Only the PKI: kubeadm's CAs, certificates and service-account key pair for a 3-node control
// plane with stacked etcd, nothing placed on any host yet (kubeadm's `init phase certs all`).
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki } from "pulumi-kubeadm";

const controlPlanes = [
    { name: "cp-1", address: "10.0.10.11" },
    { name: "cp-2", address: "10.0.10.12" },
    { name: "cp-3", address: "10.0.10.13" },
];

const pki = new ClusterPki("pki", {
    controlPlaneEndpoint: "k8s-api.example.internal:6443",
    networking: { serviceSubnet: "10.96.0.0/12" },
    controlPlanes,
    etcdMembers: controlPlanes,
    apiServerCertSANs: ["10.0.10.10"],
});

export const caCertPem = pki.caCertPem;
export const discoveryTokenCaCertHash = pki.discoveryTokenCaCertHash;
export const apiServerCertificates = pki.nodePublicFiles.apply(files =>
    Object.fromEntries(Object.entries(files).map(([node, f]) => [node, f["apiserver.crt"]])));
export const privateKeys = pulumi.secret(pki.privateFiles);
