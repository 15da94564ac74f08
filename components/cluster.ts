import * as pulumi from "@pulumi/pulumi";
import { clusterConfigurationYaml } from "../render/cluster-configuration";
import { ClusterArgs, resolveClusterArgs } from "../spec/cluster-args";
import { ClusterPki } from "./pki";

export type { ClusterArgs } from "../spec/cluster-args";
export { resolveClusterArgs } from "../spec/cluster-args";

/** A kubeadm-style cluster on existing hosts. */
export class Cluster extends pulumi.ComponentResource {
    /** The cluster's ClusterConfiguration as kubeadm stores it in kube-system/kubeadm-config. */
    public readonly clusterConfiguration: pulumi.Output<string>;
    public readonly kubernetesVersion: pulumi.Output<string>;
    public readonly caCertPem: pulumi.Output<string>;
    /** `sha256:<hex>` for `kubeadm join --discovery-token-ca-cert-hash`. */
    public readonly discoveryTokenCaCertHash: pulumi.Output<string>;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { cluster, warnings } = resolveClusterArgs(args);
        super("kubeadm:index:Cluster", name, {}, opts);
        for (const w of warnings) pulumi.log.warn(w, this);

        const s = cluster.spec;
        const pki = new ClusterPki(`${name}-pki`, {
            controlPlaneEndpoint: s.controlPlaneEndpoint!,
            networking: s.networking,
            controlPlanes: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })),
            etcdMembers: cluster.etcdMembers.map(h => ({ name: h.name, address: h.address })),
            externalEtcd: cluster.etcdTopology === "external",
            apiServerCertSANs: s.apiServer?.certSANs,
            etcdServerCertSANs: s.etcd?.serverCertSANs,
            etcdPeerCertSANs: s.etcd?.peerCertSANs,
            certificates: s.certificates,
        }, { parent: this });

        this.clusterConfiguration = pulumi.output(clusterConfigurationYaml(cluster));
        this.kubernetesVersion = pulumi.output(cluster.version.version);
        this.caCertPem = pki.caCertPem;
        this.discoveryTokenCaCertHash = pki.discoveryTokenCaCertHash;
        this.registerOutputs({
            clusterConfiguration: this.clusterConfiguration, kubernetesVersion: this.kubernetesVersion,
            caCertPem: this.caCertPem, discoveryTokenCaCertHash: this.discoveryTokenCaCertHash,
        });
    }
}
